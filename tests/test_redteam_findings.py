"""Red-team findings, now closed: holes a pull request could open while every check passed.
Each test replays the proof of concept and asserts the defence (repo_checks.py, action.yml,
plan.py). A broken proof of concept raises RuntimeError (not AssertionError), so it is never
mistaken for the defence."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from tests.test_ci_workflow import base_repo, clone, git, people, regenerate_rows, repo, run_step  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("iconv") is None or shutil.which("git") is None,
                                reason="needs git and iconv")

# What OpenTofu on the runner gets once the committed bytes are read as JSON: a provisioner
# that runs a command with the runner's environment (AUTHENTIK_TOKEN) at apply time.
INJECTED = ('x"}}}, "resource": {"terraform_data": {"pwn": {"provisioner": [{"local-exec": '
            '{"command": "env > /tmp/leak"}}]}}}, "output": {"pad": {"value": {"name": "y')


def _utf7(text: str) -> str:
    return "+" + base64.b64encode(text.encode("utf-16-be")).decode().rstrip("=") + "-"


def _iconv(data: bytes, src: str, dst: str) -> bytes:
    return subprocess.run(["iconv", "-f", src, "-t", dst], input=data, capture_output=True, check=True).stdout


def _plant_utf7_injection(root: Path) -> None:
    """users.json + .gitattributes such that synth's users.tf.json, as git stores it (the
    clean filter decodes UTF-7), holds INJECTED, and the checkout git makes of it is as long
    as synth's output (git status then compares contents, which agree after the filter)."""
    (root / ".gitattributes").write_text("generated/users.tf.json working-tree-encoding=UTF-7\n")
    payload = "".join(_utf7(c) if c in '"\\' else c for c in INJECTED)  # JSON encoding leaves it alone
    run = lambda k: _utf7("x" * k) + " "  # noqa: E731  padding: k letters, spelt long
    grow = lambda k: len(run(k)) - (k + 1)  # noqa: E731

    def write(name: str) -> tuple[int, int]:
        document = people(10)
        document["users"]["zzz"] = {"name": name, "email": "zzz@example.org"}  # sorted last
        (root / "users.json").write_text(json.dumps(document, indent=2) + "\n")
        regenerate_rows(root)
        synthed = (root / "generated" / "users.tf.json").read_bytes()
        return len(synthed), len(_iconv(_iconv(synthed, "UTF-7", "UTF-8"), "UTF-8", "UTF-7"))

    synthed, checked_out = write(payload)
    need = checked_out - synthed
    tries = sorted(((a, b) for a in range(1, 800) for b in range(800)
                    if abs(grow(a) + (grow(b) if b else 0) - need) <= 6),
                   key=lambda ab: abs(grow(ab[0]) + (grow(ab[1]) if ab[1] else 0) - need))
    for a, b in tries[:200]:
        if len(set(write(run(a) + (run(b) if b else "") + payload))) == 1:
            return
    raise RuntimeError("could not match the checkout's length")


def test_gitattributes_encoding_smuggles_terraform_past_ci(repo: Path, tmp_path: Path) -> None:
    _plant_utf7_injection(repo)
    git(repo, "add", "users.json", ".gitattributes", "generated")
    git(repo, "commit", "-q", "--no-verify", "-m", "onboard zzz")
    blob = git(repo, "cat-file", "blob", "HEAD:generated/users.tf.json")  # what go-git / Flux deliver
    try:
        json.loads(blob)["resource"]["terraform_data"]["pwn"]
    except (ValueError, KeyError) as err:
        raise RuntimeError(f"proof of concept broken: {err}") from None
    ci = clone(repo, tmp_path / "ci")  # a fresh checkout, as actions/checkout makes it
    git(ci, "checkout", "-q", "change")
    synth_step, _ = run_step(ci, "synth")
    assert synth_step.returncode == 1, (
        "CI passed a generated/ whose committed bytes are not synth's output:\n" + blob[-400:])
    assert "generated/users.tf.json: (git attribute working-tree-encoding=UTF-7)" in synth_step.stderr


def test_a_sourceignore_hiding_generated_fails_ci(repo: Path) -> None:
    (repo / ".sourceignore").write_text("generated/cdk.tf.json\n")
    git(repo, "add", ".sourceignore")
    git(repo, "commit", "-q", "--no-verify", "-m", "tidy the Flux artifact")
    synth_step, _ = run_step(repo, "synth")
    guard_step, _ = run_step(repo, "guard")
    assert synth_step.returncode == 1 and guard_step.returncode == 1
    assert ".sourceignore: line 1 (generated/cdk.tf.json): drops generated/cdk.tf.json" in synth_step.stderr


def test_plan_does_not_run_a_committed_tools_binary(tmp_path: Path) -> None:
    from tests.gitrepo import git as git_in, git_project
    from tests.helpers import ROOT, run_main_process

    root = git_project(tmp_path / "repo")
    (root / ".gitignore").write_text((ROOT / ".gitignore").read_text())
    marker = tmp_path / "ran"
    tofu = root / ".tools" / "bin" / "tofu"
    tofu.parent.mkdir(parents=True)
    tofu.write_text(f"#!/bin/sh\ntouch {marker}\nexit 1\n")
    tofu.chmod(0o755)
    git_in(root, "add", "-f", ".tools/bin/tofu", ".gitignore")
    git_in(root, "commit", "-q", "-m", "a helpful tools pin")
    if "tofu" not in git_in(root, "ls-files", ".tools"):
        raise RuntimeError("could not commit .tools/bin/tofu")
    planned = run_main_process(root, "plan")  # plan.py and repo_checks.py look at the .tools/ of the checkout their code is in
    assert not marker.exists(), "main.py plan ran an executable committed in .tools/bin/"
    assert planned.returncode == 1 and ".tools/bin/tofu: (git): is committed" in planned.stderr
    assert run_main_process(root, "check").returncode == 1  # check (and so CI) refuses the commit too


# --- second pass: data files only (users.json, settings.json), git around them, output ----

def _project(tmp_path: Path, users: dict | None = None, settings: dict | None = None) -> Path:
    from tests.gitrepo import git_project
    from tests.helpers import write_json

    root = git_project(tmp_path / "repo", users)
    if settings is not None:
        write_json(root / "settings.json", settings)
    return root


ADMIN = {"name": "Stefan", "email": "stefan@example.org", "groups": ["admins"], "is_admin": True}


@pytest.mark.parametrize("written", ["41.99999999999999999", "42.0", "4.2e1"])
def test_an_adoption_id_is_the_number_the_reviewer_reads(tmp_path: Path, written: str) -> None:
    """41.99999999999999999 is the float 42.0: a reviewer reads 41-something, synth imported
    account 42. An id is written in digits, as Authentik shows it."""
    from tests.helpers import run_main

    root = _project(tmp_path)
    text = json.dumps({"users": {"stefan": ADMIN, "bob": {"name": "Bob", "email": "bob@example.org",
                                                           "authentik_id": 0}}})
    (root / "users.json").write_text(text.replace('"authentik_id": 0', f'"authentik_id": {written}'))
    checked = run_main(root, "check")
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "users.bob.authentik_id:" in checked.stderr and "digits" in checked.stderr
    (root / "users.json").write_text(text.replace('"authentik_id": 0', '"authentik_id": 42'))
    assert run_main(root, "check").returncode == 0


NETBIRD_USERS = {"users": {"stefan": ADMIN}, "groups": {"admins": {"netbird": True}}}


@pytest.mark.parametrize("url", [
    "https://.*",                                   # any host
    "https://netbird.example.org/.*",               # an unescaped dot: netbirdXexample.org
    r"https://netbird\.example\.org.*",             # netbird.example.org.evil.example
    r"https://netbird\.example\.org/|https://evil\.example/.*",  # an alternative host
    r"https://evil\.example@netbird\.example\.org/.*",           # userinfo before the host
    r"https://[a-z]+\.example\.org/.*",             # a class in the host
])
def test_a_regex_redirect_uri_names_one_host(tmp_path: Path, url: str) -> None:
    """Authentik fullmatches a regex redirect URI against the redirect_uri of the request; a
    pattern that matches another host hands authorization codes (with PKCE, the attacker's own
    flow) to that host: sign-in to NetBird as whoever clicks the link."""
    import re

    from tests.helpers import run_main

    assert any(re.fullmatch(url, attack) for attack in (
        "https://evil.example/cb", "https://netbirdxexample.org/cb", "https://netbird.example.org.evil.example/",
        "https://evil.example@netbird.example.org/x", "https://evil.example.org/cb"))
    root = _project(tmp_path, NETBIRD_USERS, {"netbird": {"enabled": True, "redirect_uris": [
        {"url": "http://localhost:53000"}, {"url": url, "matching_mode": "regex"}]}})
    checked = run_main(root, "check")
    assert checked.returncode == 1 and "settings.json: netbird.redirect_uris[1].url:" in checked.stderr, checked.stderr
    (root / "settings.json").write_text(json.dumps({"netbird": {"enabled": True, "redirect_uris": [
        {"url": r"https://netbird\.example\.org/.*", "matching_mode": "regex"}]}}))
    assert run_main(root, "check").returncode == 0


@pytest.mark.parametrize("key", ["logo", "favicon"])
@pytest.mark.parametrize("url", ["javascript:alert(document.domain)", "data:image/svg+xml,<svg onload=alert(1)>",
                                 "//evil.example/x.png", "http://evil.example/x.png", "logo.png"])
def test_the_brand_images_are_a_path_or_an_https_url(tmp_path: Path, key: str, url: str) -> None:
    """brand.logo and brand.favicon are rendered on every sign-in page: a script or data URL,
    a protocol-relative or plain-http URL is refused (an https URL to a CDN is a choice the
    reviewer sees in settings.json)."""
    from tests.helpers import run_main

    root = _project(tmp_path, settings={"brand": {key: url}})
    checked = run_main(root, "check")
    assert checked.returncode == 1 and f"settings.json: brand.{key}:" in checked.stderr, checked.stderr
    (root / "settings.json").write_text(json.dumps({"brand": {key: "https://cdn.example.org/a.svg"}}))
    assert run_main(root, "check").returncode == 0


def test_generated_as_a_submodule_is_refused(tmp_path: Path) -> None:
    """A gitlink at generated/ checks out as an empty directory (Flux does not fetch
    submodules unless told to, and then from the PR's own URL): check and synth said OK."""
    from tests.gitrepo import git as git_in
    from tests.helpers import run_main

    root = _project(tmp_path)
    head = git_in(root, "rev-parse", "HEAD").strip()
    git_in(root, "rm", "-rq", "--cached", "generated")
    git_in(root, "update-index", "--add", "--cacheinfo", f"160000,{head},generated")
    (root / ".gitmodules").write_text('[submodule "generated"]\n\tpath = generated\n\turl = https://evil.invalid/m.git\n')
    git_in(root, "add", ".gitmodules")
    git_in(root, "commit", "-q", "-m", "generated/ from elsewhere")
    if "160000" not in git_in(root, "ls-files", "-s", "generated"):
        raise RuntimeError("could not commit a gitlink")
    checked = run_main(root, "check")
    assert checked.returncode == 1 and "generated: (git): is a submodule" in checked.stderr, checked.stderr


def test_a_case_twin_of_users_json_is_refused(tmp_path: Path) -> None:
    """Users.json beside users.json: a reviewer on a case-insensitive file system (macOS,
    Windows) checks out one of the two, and `diff`/`plan` read it; CI and Flux read users.json."""
    from tests.gitrepo import git as git_in
    from tests.helpers import run_main

    root = _project(tmp_path)
    blob = git_in(root, "hash-object", "-w", "users.json").strip()
    git_in(root, "update-index", "--add", "--cacheinfo", f"100644,{blob},Users.json")
    git_in(root, "commit", "-q", "-m", "a twin")
    checked = run_main(root, "check")
    assert checked.returncode == 1 and "Users.json: (git): differs from users.json only in case" in checked.stderr, checked.stderr


@pytest.mark.parametrize("attribute", ["linguist-generated", "-diff", "binary"])
def test_attributes_that_hide_the_data_from_review_are_refused(tmp_path: Path, attribute: str) -> None:
    """GitHub collapses a linguist-generated file's diff and shows `-diff`/`binary` files as
    binary: the change to who is an admin is one click away, behind "Load diff"."""
    from tests.gitrepo import git as git_in
    from tests.helpers import run_main

    root = _project(tmp_path)
    (root / ".gitattributes").write_text(f"users.json {attribute}\ngenerated/* linguist-generated\n")
    git_in(root, "add", ".gitattributes")
    git_in(root, "commit", "-q", "-m", "tidy the diff")
    checked = run_main(root, "check")
    assert checked.returncode == 1 and "users.json: (git attribute" in checked.stderr, checked.stderr
    assert "generated/users.tf.json:" not in checked.stderr  # it may be collapsed: CI compares it with synth


def test_the_markdown_summary_mentions_nobody(tmp_path: Path) -> None:
    """`diff --format markdown` goes to a PR comment or the job summary: a display name or
    group name "@acme/admins" or "acme/infra#12" must not ping a team or link another
    repository's issue. GitHub resolves mentions after Markdown, so a backslash does not
    stop them; an empty HTML comment between @ and the name does, and is invisible."""
    import re

    from tests.gitrepo import git as git_in
    from tests.helpers import run_main, write_json

    root = _project(tmp_path, {"users": {"stefan": ADMIN}})
    write_json(root / "users.json", {"users": {"stefan": ADMIN, "eve": {
        "name": "@acme/security-team approved this, see acme/infra#12 and #1",
        "email": "eve@example.org", "groups": ["@acme/admins"]}}})
    shown = run_main(root, "diff", "--format", "markdown")
    assert shown.returncode == 0, shown.stderr
    assert "acme/security-team" in shown.stdout
    mentions = re.findall(r"(?<![\w`])@[A-Za-z0-9]|#[0-9]", shown.stdout)
    assert not mentions, shown.stdout
    assert "eve@<!-- -->example.org" in shown.stdout  # an email is no mailto: link either (test_markdown_links.py)


def test_diff_shows_every_setting_a_change_makes(tmp_path: Path) -> None:
    """A settings-only PR sending NetBird's authorization codes to another host (a strict
    redirect URI is any URL) and the sign-in page's logo to a tracking host: `diff` said
    "No changes to users or groups." in every format."""
    from tests.gitrepo import git as git_in
    from tests.helpers import run_main, write_json

    root = _project(tmp_path, NETBIRD_USERS, {"netbird": {"enabled": True, "redirect_uris": [
        {"url": "https://netbird.example.org/cb"}]}})
    git_in(root, "commit", "-qam", "netbird")
    write_json(root / "settings.json", {"netbird": {"enabled": True, "redirect_uris": [
        {"url": "https://evil.example/cb"}]}, "brand": {"logo": "https://evil.example/@x.png"}})
    for fmt in ("text", "markdown"):
        shown = run_main(root, "diff", "--format", fmt)
        assert shown.returncode == 0, shown.stderr
        assert "o changes to users or groups." not in shown.stdout, shown.stdout  # "No…" / "no…", and nothing else
        assert "netbird.redirect_uris" in shown.stdout and "evil.example/cb" in shown.stdout, shown.stdout
        assert "brand.logo" in shown.stdout, shown.stdout
    listed = json.loads(run_main(root, "diff", "--format", "json").stdout)["settings"]
    assert {"netbird.redirect_uris", "brand.logo"} <= {s["key"] for s in listed}, listed


def test_a_deeply_nested_users_json_does_not_exhaust_memory_in_ci_formats(tmp_path: Path) -> None:
    """`check --format github` (action.yml) and `--format json` locate each problem on its
    line by scanning users.json (report._key_lines). A 200 KB file of 100,000 nested lists
    made that scan hold a path tuple per level (quadratic: gigabytes; the runner OOM-killed
    it after ~70 s), while the text format refused it at once."""
    from users_authentik import report
    from users_authentik.parse import MAX_DEPTH

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 3000 + "]" * 3000)
    assert max(map(len, report._key_lines(deep))) <= MAX_DEPTH + 1

    root = tmp_path / "data"
    root.mkdir()
    (root / "users.json").write_text("[" * 100_000 + "]" * 100_000)
    limit = "import resource,runpy,sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
    for fmt in ("github", "json"):
        code = limit + f"sys.argv = ['main.py', '-C', {str(root)!r}, 'check', '--format', {fmt!r}]; "
        code += f"runpy.run_path({str(Path(__file__).parents[1] / 'main.py')!r}, run_name='__main__')"
        done = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True,
                              timeout=120, env={**__import__("os").environ,
                                                "PYTHONPATH": str(Path(__file__).parents[1] / "constructs")})
        assert "Traceback" not in done.stderr, done.stderr[-2000:]
        assert done.returncode == 1 and "nested more than" in done.stdout, (done.returncode, done.stdout[-500:])


@pytest.mark.parametrize("field", ['"groups": "dev"', '"authentik_id": true', '"authentik_id": 1.5',
                                   '"authentik_id": 42.0', '"authentik_id": -0.0'])
def test_a_committed_base_of_the_wrong_type_is_not_read_as_users(field: str) -> None:
    """A base committed past the checks is built unchecked (model.well_typed judges it). The
    model's reads converted before that judgement: "groups": "dev" became the groups d, e, v
    (diff: "removed d, e, v", three groups deleted) and an authentik_id of true or 1.5 the
    account 1 (diff: no change at all), and 42.0 or -0.0, which the checks refuse as decimals,
    the ids 42 and 0. Such a base is one that cannot be read as users."""
    from users_authentik.loading import Sources, build_unchecked

    entry = '{"name": "A", "email": "ada@example.org", "is_admin": true, %s}' % field
    assert build_unchecked(Sources({"users.json": ('{"users": {"ada": %s}}' % entry).encode()})) is None
    ok = '{"users": {"ada": {"name": "A", "email": "ada@example.org", "groups": ["dev"], "authentik_id": 42}}}'
    built = build_unchecked(Sources({"users.json": ok.encode()}))
    assert built is not None and built[0].users[0].groups == ("dev",) and built[0].users[0].authentik_id == 42


def _fleet_of_five(top: Path) -> tuple[Path, dict, Callable[..., None]]:
    """A fleet repository whose apps/users declares five people (ada the admin), committed
    on main: (apps/users, its users.json document, git in the repository)."""
    from tests.gitrepo import ISOLATED

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=top, check=True, capture_output=True, env=ISOLATED)

    users = top / "apps" / "users"
    users.mkdir(parents=True)
    everyone = {"users": {n: {"name": n, "email": f"{n}@example.org", "is_admin": n == "ada"}
                          for n in ("ada", "bob", "cat", "dan", "eve")}}
    (users / "users.json").write_text(json.dumps(everyone))
    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-qm", "base")
    return users, everyone, git


def test_a_data_directory_replaced_by_a_link_is_refused(tmp_path: Path) -> None:
    """In a fleet repository (action.yml's `directory`), a PR replaces apps/users by a
    symbolic link to apps/other, which holds one admin. git runs in the resolved directory,
    so the removal guard read users.json at the base from apps/other (absent: nobody
    existed) and passed, and diff said "0 offboarded", while the change deletes apps/users
    and every account it declared."""
    from tests.helpers import run_main

    top = tmp_path / "fleet"
    users, everyone, git = _fleet_of_five(top)
    other = top / "apps" / "other"
    other.mkdir()
    (other / "users.json").write_text(json.dumps({"users": {"ada": everyone["users"]["ada"]}}))
    git("rm", "-rq", "apps/users")
    users.symlink_to("other")
    git("add", "-A")
    git("commit", "-qm", "replace the directory by a link")
    done = run_main(users, "check", "--base", "main~1")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "apps/users" in done.stderr and "symbolic link" in done.stderr, done.stderr
    shown = run_main(users, "diff", "--base", "main~1")
    assert shown.returncode == 1 and "0 offboarded" not in shown.stdout, shown.stdout
    assert "apps/users" in shown.stderr and "symbolic link" in shown.stderr, shown.stderr


def test_a_byte_order_mark_is_named_with_its_fix() -> None:
    """Loading takes bytes now; a users.json saved "UTF-8 with BOM" got Python's hint
    ("decode using utf-8-sig") and the fix for a missing comma."""
    from users_authentik.parse import load_json

    data, problems = load_json(b'\xef\xbb\xbf{"users": {}}', "users.json")
    assert data is None and len(problems) == 1
    assert "byte order mark" in problems[0].problem and "utf-8-sig" not in problems[0].problem
    assert "without a BOM" in problems[0].fix


def test_a_data_directory_linked_to_the_repository_top_is_refused(tmp_path: Path) -> None:
    """The same with apps/users -> .. (the top) and a one-admin users.json at the top: the link's
    target holds .git, which once ended the search for links there."""
    from tests.helpers import run_main

    top = tmp_path / "fleet"
    users, everyone, git = _fleet_of_five(top)
    (top / "users.json").write_text(json.dumps({"users": {"ada": everyone["users"]["ada"]}}))
    git("rm", "-rq", "apps/users")
    users.parent.mkdir(exist_ok=True)  # git rm took the emptied apps/ too
    users.symlink_to("..")  # apps/users -> the top
    git("add", "-A")
    git("commit", "-qm", "replace the directory by a link to the top")
    for command in ("check", "diff"):
        done = run_main(users, command, "--base", "main~1")
        assert done.returncode == 1 and "apps/users" in done.stderr and "symbolic link" in done.stderr, done


def test_a_tag_named_like_the_base_branch_is_not_the_base(tmp_path: Path) -> None:
    """CI compares a pull request with `origin/<base branch>` (action.yml). git resolves a
    short name as a tag before a remote-tracking branch, so a contributor who may push a tag
    (tags are seldom protected; CI's fetch-depth: 0 checkout fetches them all) pushes
    `origin/main` pointing at their own head: the removal guard compared the change with
    itself and passed while it deletes four of five people, and diff said "0 offboarded"."""
    from tests.helpers import run_main

    top = tmp_path / "fleet"
    users, everyone, git = _fleet_of_five(top)
    git("update-ref", "refs/remotes/origin/main", "main")
    git("checkout", "-qb", "pr")
    (users / "users.json").write_text(json.dumps({"users": {"ada": everyone["users"]["ada"]}}))
    git("commit", "-qam", "remove four people")
    git("tag", "origin/main", "pr")
    for command in ("check", "diff"):
        done = run_main(users, command, "--base", "origin/main")
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "more than one ref (refs/tags/origin/main, refs/remotes/origin/main)" in done.stderr, done.stderr
    # Named in full, the base is the branch, and the guard refuses the mass removal.
    done = run_main(users, "check", "--base", "refs/remotes/origin/main")
    assert done.returncode == 1 and "bob" in done.stderr and "more than one ref" not in done.stderr, done.stderr


@pytest.mark.parametrize("text", ["${TfToken[TOKEN.1]}", "Sign in #{TfToken[TOKEN.0]}"])
def test_a_cdktf_token_marker_in_a_setting_is_a_problem(tmp_path: Path, text: str) -> None:
    """Settings strings are the only text from a pull request that crosses jsii, and cdktf
    reads `${TfToken[…]}` and `#{TfToken[…]}` in them as its own tokens, also inside the
    escape `$${` (cdktf has none). `check` said OK and CI's synth then died in cdktf ("is
    Node.js 20 on PATH?"); were a token of that number ever made, cdktf would splice it in."""
    from tests.helpers import copy_project, run_main, write_json

    root = copy_project(tmp_path / "p")
    write_json(root / "settings.json", {"brand": {"domain": "auth.example.org", "title": text},
                                        "flows": {"login": {"slug": "users-authentik-login", "title": text}}})
    before = {p.name: p.read_bytes() for p in (root / "generated").iterdir()}
    for command in ("check", "synth"):
        done = run_main(root, command, "--rebuild") if command == "synth" else run_main(root, command)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "brand.title" in done.stderr and "flows.login.title" in done.stderr, done.stderr
        assert "cdktf reads as one of its own tokens" in done.stderr and "Node.js" not in done.stderr, done.stderr
    assert {p.name: p.read_bytes() for p in (root / "generated").iterdir()} == before


@pytest.mark.parametrize("text", ["Sign in -8.109562212591379e+298", "-8.10956221259138e+298",
                                  "String Map Token Value", "Any Map Token Value"])
def test_cdktf_number_and_map_token_values_in_a_setting_are_a_problem(tmp_path: Path, text: str) -> None:
    """cdktf also reads, in every string it resolves, a number whose bits are its number-token
    marker (any text of a double in -8.11e298 ... -8.37e298, such as "-8.109562212591379e+298") as
    one of its number tokens, and refuses the exact texts "String Map Token Value" and "Any Map
    Token Value" (its map-token placeholders). `check` said OK and CI's synth died in cdktf
    ("is Node.js 20 on PATH?"); were a number token of that index ever made, cdktf would splice
    its Terraform expression into the setting."""
    from tests.helpers import copy_project, run_main, write_json

    root = copy_project(tmp_path / "p")
    write_json(root / "settings.json", {"brand": {"domain": "auth.example.org", "title": text}})
    before = {p.name: p.read_bytes() for p in (root / "generated").iterdir()}
    for command in ("check", "synth"):
        done = run_main(root, command, "--rebuild") if command == "synth" else run_main(root, command)
        assert done.returncode == 1, (command, done.stdout, done.stderr)
        assert "brand.title" in done.stderr and "cdktf reads as one of its own tokens" in done.stderr, done.stderr
        assert "Node.js" not in done.stderr, done.stderr
    assert {p.name: p.read_bytes() for p in (root / "generated").iterdir()} == before


@pytest.mark.parametrize("text", ["Sign in 1e5", "v2.0e-3", "-8.1e298", "1e400", "-9.5e298"])
def test_number_like_text_that_is_no_cdktf_token_passes(tmp_path: Path, text: str) -> None:
    """Only cdktf's marker doubles are refused: other numbers with an exponent are text."""
    from tests.helpers import copy_project, run_main, write_json

    root = copy_project(tmp_path / "p")
    write_json(root / "settings.json", {"brand": {"domain": "auth.example.org", "title": text}})
    done = run_main(root, "check")
    assert done.returncode == 0, (done.stdout, done.stderr)


# Tracked top-level entries a command neither runs nor installs from: the data CI checks,
# and text. Everything else runs somewhere (CI, make, pre-commit, cdktf, npm) when changed.
_NOT_CODE = {"users.json", "settings.json", "generated", "README.md", "docs", ".gitignore", ".gen"}


def test_codeowners_sample_covers_every_file_a_command_runs() -> None:
    """The sample CODEOWNERS left cdktf.json, package.json, package-lock.json and .ci/ to
    the ordinary reviewers, who approve data. A pull request changing cdktf.json's "app" alone
    ran its command on a reviewer's `npm run synth` / `npx cdktf synth` (the README's
    equivalent of main.py synth); package-lock.json chooses the cdktf-cli that runs there,
    package.json the `npm run synth` script, and .ci/run is CI's test job."""
    import fnmatch
    import subprocess
    from tests.helpers import ROOT

    owned = [line.split()[0] for line in (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=True).stdout
    top = {path.split("/")[0] for path in tracked.splitlines()}

    def covered(name: str) -> bool:
        return any(fnmatch.fnmatch(f"/{name}", p.rstrip("/")) or fnmatch.fnmatch(name, p.rstrip("/")) for p in owned)

    assert sorted(n for n in top - _NOT_CODE if not covered(n)) == []


# Both sides of cdktf's number-token rule, and its placeholders. check copies that rule
# (settings_file.py); cdktf itself is the judge of it, so the copy is held to what it renders.
_NEAR_TOKENS = ["-8.109562212591379e+298", "Sign in -8.3e298 now", "String Map Token Value", "Any Map Token Value",
                "Sign in 1e5", "-8.1e298", "-9.5e298", "1e400", "String Map Token Values", "v2.0e-3"]


def test_check_refuses_exactly_the_settings_texts_cdktf_cannot_render(tmp_path: Path) -> None:
    from tests.helpers import copy_project, run_main, write_json
    from users_authentik import synth
    from users_authentik.settings import Settings

    root = copy_project(tmp_path / "p")
    refused, unrenderable = [], []
    for text in _NEAR_TOKENS:
        document = {"brand": {"domain": "auth.example.org", "title": text}}
        write_json(root / "settings.json", document)
        if run_main(root, "check").returncode != 0:
            refused.append(text)
        try:  # past check, straight to cdktf (this worker's jsii kernel)
            stack = json.loads(synth.render_stack(Settings.from_document(document)))
        except Exception:
            unrenderable.append(text)
        else:
            assert stack["resource"]["authentik_brand"]["brand"]["branding_title"] == text
    assert refused == unrenderable
    assert 0 < len(refused) < len(_NEAR_TOKENS)  # both sides are tried


def test_a_long_number_like_setting_is_checked_in_linear_time(tmp_path: Path) -> None:
    # cdktf's number pattern, run as written, retries a digit run with no "e" from every
    # position: 16,000 digits took 2 s, a megabyte would stall check for hours.
    import time
    from tests.helpers import copy_project, run_main, write_json

    root = copy_project(tmp_path / "p")
    write_json(root / "settings.json", {"brand": {"domain": "auth.example.org", "title": "1" * 50_000 + " x1e5"}})
    started = time.monotonic()
    assert run_main(root, "check").returncode == 0
    assert time.monotonic() - started < 5  # quadratic: about 20 s


def _criss_cross(tmp_path: Path) -> tuple[Path, Callable[..., str]]:
    """A branch `evil` (checked out) and `main` after criss-cross merges: main merged an
    earlier commit X of the branch, the branch merged main's Y, and the branch's own merge
    commit drops four people Y added. `git merge-base` prints X, against which nothing
    changed, yet merging the branch into main deletes the four. Returns (root, git runner)."""
    from tests.gitrepo import ISOLATED
    from tests.helpers import copy_project

    clock = iter(range(1, 100))

    def run(*args: str) -> str:  # dated commits: git's pick among merge-bases follows commit dates
        stamp = f"2026-01-01T00:00:{next(clock):02d}"
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                              env={**ISOLATED, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        if done.returncode:
            raise RuntimeError(done.stderr)
        return done.stdout.strip()

    def write(*names: str) -> None:
        document = people(3)  # stefan (the admin), user1, user2
        for name in names:
            document["users"][name] = {"name": name.title(), "email": f"{name}@example.org", "groups": ["dev"]}
        document["users"]["zed"] = {"name": "Zed", "email": "zed@example.org", "groups": ["dev"]}
        (root / "users.json").write_text(json.dumps(document, indent=2) + "\n")

    root = copy_project(tmp_path / "repo")
    added = ("new1", "new2", "new3", "new4")
    write()
    run("init", "-q", "-b", "main")
    run("add", "-A")
    run("commit", "-qm", "base")
    run("branch", "evil")
    write(*added)
    run("commit", "-qam", "Y: four people onboarded on main")
    y = run("rev-parse", "HEAD")
    run("checkout", "-q", "evil")
    (root / "users.json").write_text((root / "users.json").read_text().replace('"Zed"', '"Zed Z."'))
    run("commit", "-qam", "X: a harmless rename, reviewed and merged")  # newer than Y: git prints X
    x = run("rev-parse", "HEAD")
    run("checkout", "-q", "main")
    run("merge", "-q", "--no-ff", "-m", "merge X", "evil")
    run("checkout", "-q", "evil")
    run("merge", "-q", "--no-commit", y)
    write()  # the merge commit's tree: Y's four people left out
    (root / "users.json").write_text((root / "users.json").read_text().replace('"Zed"', '"Zed Z."'))
    run("commit", "-qam", "merge main")
    if sorted(run("merge-base", "--all", "HEAD", "main").split()) != sorted([x, y]) or \
            run("merge-base", "HEAD", "main") != x:
        raise RuntimeError("not the criss-cross this replays: git must pick X, which lacks the four")
    run("checkout", "-qb", "merged", "main")
    run("merge", "-q", "--no-edit", "evil")
    if any(name in json.loads((root / "users.json").read_text())["users"] for name in added):
        raise RuntimeError("merging the branch into main was meant to delete the four")
    run("checkout", "-q", "evil")
    return root, run


def test_a_criss_cross_merge_cannot_hide_a_removal_from_the_default_base(tmp_path: Path) -> None:
    """Without --base, diff, plan and the pre-commit guard compare with the merge-base of HEAD
    and main. After criss-cross merges there are two, and `git merge-base` prints one, against
    which the branch's merge commit changed nothing (_criss_cross)."""
    from tests.helpers import run_main

    root, _ = _criss_cross(tmp_path)
    done = run_main(root, "diff")
    assert "new1" in done.stdout and "no changes to users" not in done.stdout, done.stdout + done.stderr
    assert "2 merge-bases" in done.stderr, done.stderr
    done = run_main(root, "check")
    assert done.returncode == 1 and "removes 4 of the" in done.stderr, done.stdout + done.stderr


@pytest.mark.parametrize("tags", [("refs/heads/main",), ("refs/remotes/origin/HEAD", "refs/remotes/origin/main")])
def test_a_tag_named_like_the_upstream_cannot_switch_the_criss_cross_base_off(tmp_path: Path,
                                                                               tags: tuple[str, ...]) -> None:
    """With several merge-bases the default base is the upstream's tip, which was resolved as a
    --base is: a name that is also another ref (`refs/tags/refs/heads/main`, a tag
    `refs/heads/main`) counted as ambiguous, no tip, so the default base fell through to the
    next upstream (a clone's stale local main) or to HEAD itself: "no changes to users", and the
    pre-commit guard passed a merge that deletes four people. Whoever may push a tag, or a fork a reviewer fetches
    (git fetches the tags pointing into what it fetched), chose that. The upstream is a full
    ref name, as merge-base read it: nothing is ambiguous about it."""
    from tests.helpers import run_main

    root, run = _criss_cross(tmp_path)
    for tag in tags:
        run("tag", tag, "main~2")
    if "origin/main" in tags[-1]:  # a clone's upstreams; the local main is the stale base
        run("update-ref", "refs/remotes/origin/main", "main")
        run("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
        run("branch", "-f", "main", "main~2")  # not pulled since before Y: lacks the four
    if "ambiguous" not in subprocess.run(["git", "-c", "core.warnAmbiguousRefs=true", "rev-parse", tags[0]],
                                         cwd=root, capture_output=True, text=True).stderr:
        raise RuntimeError(f"the tag {tags[0]} does not make its name ambiguous")
    done = run_main(root, "diff")
    assert "new1" in done.stdout and "no changes to users" not in done.stdout, done.stdout + done.stderr
    assert "2 merge-bases" in done.stderr, done.stderr
    done = run_main(root, "check")
    assert done.returncode == 1 and "removes 4 of the" in done.stderr, done.stdout + done.stderr


def _pull_request_types(on: dict) -> set[str]:
    triggered = on["pull_request"] or {}
    return set(triggered.get("types", ["opened", "synchronize", "reopened"]))  # GitHub's default


def test_a_pull_request_whose_base_is_changed_is_checked_again() -> None:
    """A check belongs to the head commit. A contributor who may push branches pushes `base`
    (main without four people) and `evil` on top, opens evil -> base: no removal, green. Then
    they change the base to main: that is an `edited` event, which GitHub's default types
    leave out, so the green check stood for a pull request that removes four people (also
    with "require branches to be up to date": evil contains main). Both the repository's
    workflow and the fleet sample in docs/flux.md run on it, and on pushes to main."""
    import re

    import yaml

    from tests.test_ci_workflow import ROOT, workflow

    ours = workflow()[True]  # YAML 1.1 reads the key `on` as True
    sample = re.search(r"7\. Add CI:.*?```yaml\n(.*?)```", (ROOT / "docs" / "flux.md").read_text(encoding="utf-8"),
                       re.S)
    assert sample, "docs/flux.md step 7 has no workflow sample"
    theirs = yaml.safe_load(sample.group(1))[True]
    for on in (ours, theirs):
        assert {"opened", "synchronize", "reopened", "edited"} <= _pull_request_types(on), on
        assert on["push"] == {"branches": ["main"]}, on


def test_a_check_against_the_old_base_says_nothing_of_the_new(repo: Path) -> None:
    """The proof behind the test above, on action.yml's guard step: the same head commit,
    judged against the branch its author chose as base, passes; against main it fails."""
    document = people(10)
    for name in ("user1", "user2", "user3", "user4"):
        del document["users"][name]
    git(repo, "checkout", "-q", "-b", "base", "main")
    (repo / "users.json").write_text(json.dumps(document, indent=2) + "\n")
    regenerate_rows(repo)
    git(repo, "commit", "-qam", "base: four fewer people (a branch, no pull request: no guard)")
    git(repo, "checkout", "-q", "-b", "evil")
    document["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    (repo / "users.json").write_text(json.dumps(document, indent=2) + "\n")
    regenerate_rows(repo)
    git(repo, "commit", "-qam", "evil: onboard ada")
    git(repo, "update-ref", "refs/remotes/origin/base", "base")
    against_base, _ = run_step(repo, "guard", {"EVENT": "pull_request", "PR_BASE": "base", "BEFORE": ""})
    if against_base.returncode != 0:
        raise RuntimeError(against_base.stdout + against_base.stderr)
    against_main, summary = run_step(repo, "guard", {"EVENT": "pull_request", "PR_BASE": "main", "BEFORE": ""})
    assert against_main.returncode == 1 and "removes 4 of the 10 users" in against_main.stderr, against_main.stderr
    assert "user4" in summary


# tofu-controller's branch planner copies a listed Terraform object's whole spec (the runner's
# AUTHENTIK_TOKEN included) and plans each open pull request's branch with it, before CI or a
# review (docs/flux.md#tofu-controllers-branch-planner). Its opt-ins: the Helm value
# `branchPlanner.enabled`, the `branch-planner` ConfigMap (`secretName`, `resources`), the
# Terraform's `spec.branchPlanner`, and its labels `infra.weave.works/...`.
PLANNER = re.compile(r"branch[-_ ]?planner", re.I)


def _branch_planner_opt_ins(documents: list[tuple[str, object]]) -> list[str]:
    found = []

    def walk(where: str, node: object) -> None:
        if isinstance(node, dict):
            if {"secretName", "resources"} <= set(node):
                found.append(f"{where}: a branch planner ConfigMap's data")
            for key, value in node.items():
                if PLANNER.search(str(key)) or str(key).startswith("infra.weave.works/"):
                    found.append(f"{where}: {key}")
                walk(where, value)
        elif isinstance(node, list):
            for item in node:
                walk(where, item)
        elif isinstance(node, str) and PLANNER.search(node):
            found.append(f"{where}: {node!r}")

    for where, document in documents:
        walk(where, document)
    return found


def _yaml_documents(top: Path) -> list[tuple[str, object]]:
    import yaml

    return [(str(path.relative_to(top)), document)
            for path in sorted(top.rglob("*")) if path.is_file() and (".yaml" in path.suffixes or path.suffix == ".yml")
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document is not None]


def test_the_shipped_manifests_never_opt_into_the_branch_planner(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """flux/ and what `users-authentik init` writes into a fleet repository (comments aside:
    they may say why not)."""
    from tests.gitrepo import isolate_git
    from tests.test_ci_workflow import ROOT
    from users_authentik.cli import main

    shipped = _yaml_documents(ROOT / "flux")
    assert any(doc.get("kind") == "Terraform" for _, doc in shipped if isinstance(doc, dict))  # it read them
    assert _branch_planner_opt_ins(shipped) == []
    isolate_git(monkeypatch)
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    git(fleet, "init", "-q", "-b", "main")
    monkeypatch.chdir(fleet)
    assert main(["init", "-C", "flux-apps/users", "--cluster", "prod"], root=fleet) == 0
    written = _yaml_documents(fleet)
    assert any(doc.get("kind") == "Terraform" for _, doc in written if isinstance(doc, dict)), written
    assert _branch_planner_opt_ins(written) == []
    # Each opt-in is seen (the check can fail):
    opted = [("terraform.yaml", {"kind": "Terraform", "spec": {"branchPlanner": {"enablePathScope": True}}}),
             ("labels.yaml", {"metadata": {"labels": {"infra.weave.works/branch-planner": "true"}}}),
             ("configmap.yaml", {"kind": "ConfigMap", "metadata": {"name": "branch-planner"},
                                 "data": {"secretName": "token", "resources": "- namespace: flux-system"}}),
             ("helm.yaml", {"kind": "HelmRelease", "spec": {"values": {"branchPlanner": {"enabled": True}}}})]
    assert len(_branch_planner_opt_ins(opted)) >= 4
    assert all(_branch_planner_opt_ins([entry]) for entry in opted)


def test_the_upstreams_name_is_shown_escaped(tmp_path: Path) -> None:
    """Without --base, diff's and plan's notes and labels name the upstream, origin/HEAD by the
    branch it points at: whoever runs the remote (a fork a reviewer cloned) names that branch,
    and git takes bidirectional overrides and line separators in a ref name (not controls).
    The criss-cross note wrote it raw to the terminal: `ma\u202ein` shows reversed."""
    from tests.helpers import run_main

    root, run = _criss_cross(tmp_path)
    name = "refs/remotes/origin/ma\u202ein\u2028x"
    run("update-ref", name, "main")
    run("symbolic-ref", "refs/remotes/origin/HEAD", name)
    for args in (("diff",), ("diff", "--format", "markdown")):
        done = run_main(root, *args)
        if "2 merge-bases" not in done.stderr:
            raise RuntimeError("not the criss-cross note: " + done.stderr)
        for shown in (done.stdout, done.stderr):
            assert "\u202e" not in shown and "\u2028" not in shown, shown
        assert "ma\\u202ein\\u2028x" in done.stderr, done.stderr


def test_a_huge_plan_keeps_its_destroys_in_the_job_summary() -> None:
    """GitHub drops a step's summary over 1 MiB whole (an error annotation; the step stays
    green): a pull request that onboards about 1,700 made-up people beside one offboarding
    made the plan step's summary 1.07 MB, so its `!! DESTROYS` lines never showed. The
    summary now stays under the limit, and keeps the head, the tail and the counts."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    import io

    from users_authentik.plan import OfflinePlan, Summary, report_markdown

    added = "".join(f'  # authentik_user.users["n{i:05d}"] will be created\n  + resource "authentik_user" "users" {{\n'
                    f'      + name = "{"N" * 150}"\n    }}\n\n' for i in range(6000))
    text = (added + '  # authentik_user.users["user1"] will be destroyed\n'
            "Plan: 6000 to add, 0 to change, 1 to destroy.\n")
    summary = Summary(create=6000, destroy=1, destroyed_users=['authentik_user.users["user1"]'])
    result = OfflinePlan("refs/remotes/origin/main", "0" * 40, ["users.tf.json"], text, {}, summary, False)
    if len(text.encode()) < 1024 * 1024:
        raise RuntimeError("the plan is not over the limit")
    out = io.StringIO()
    report_markdown(result, out)
    shown = out.getvalue()
    assert len(shown.encode()) <= 1024 * 1024, len(shown.encode())
    assert '!!   authentik_user.users["user1"]' in shown and "Plan: 6000 to add" in shown
    assert "Offline plan: refs/remotes/origin/main" in shown and 'users["n00000"]' in shown
    left_out = re.search(r"\[\.\.\. (\d+) lines of the plan left out: .*1 to destroy; DESTROYS 1 user account\.", shown)
    assert left_out and 0 < int(left_out.group(1)) < len(text.split("\n")), shown[:2000]
    html = cmarkgfm.github_flavored_markdown_to_html(shown)
    assert re.findall(r"</?\w+", html) == ["<h4", "</h4", "<pre", "<code", "</code", "</pre"], html[:500]
    small = io.StringIO()
    report_markdown(OfflinePlan("main", "0" * 40, [], "Plan: 1 to add.\n", {}, Summary(create=1), False), small)
    assert "left out" not in small.getvalue() and "Plan: 1 to add." in small.getvalue()


def test_onboarding_thousands_cannot_push_an_admin_grant_out_of_the_job_summary(repo: Path) -> None:
    """The guard step's summary (diff --format markdown) is dropped whole over 1 MiB (an error
    annotation, the step green): an admin grant beside 3,000 made-up onboardings with long
    names and emails made it 1.2 MB, so the admin box never showed, and the guard passed
    (granting admin is not refused). The summary stays under the limit, admin box included."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="cmarkgfm (requirements-dev.txt) renders GitHub's Markdown")
    document = people(10)
    document["users"]["user1"].update(is_admin=True, groups=["admins"])
    for i in range(3000):
        document["users"][f"n{i:05d}"] = {"name": "N" * 150, "email": f"{'e' * 60}{i}@{'x' * 60}.example.org",
                                         "groups": ["dev"]}
    (repo / "users.json").write_text(json.dumps(document, indent=2) + "\n")
    regenerate_rows(repo)
    git(repo, "commit", "-qam", "grant user1 admin among 3,000 onboardings")
    guard, summary = run_step(repo, "guard")
    if guard.returncode != 0:
        raise RuntimeError("the guard was meant to pass: " + guard.stderr)
    assert len(summary.encode()) <= 1024 * 1024, len(summary.encode())
    assert "**granted to** `user1`" in summary and "#### Onboarded (3000)" in summary, summary[:3000]
    left = re.search(r"^(\d+) more not shown: a job summary holds at most 1 MiB", summary, re.M)
    assert left and int(left.group(1)) + summary.count("| `n0") == 3000, summary[-2000:]
    assert "<table>" in cmarkgfm.github_flavored_markdown_to_html(summary, options=cmarkgfm.Options.CMARK_OPT_UNSAFE)


def test_thousands_of_admin_grants_still_fit_the_job_summary_and_say_so() -> None:
    """Once every table is cut, the admin box and the NetBird access list are what is left to
    grow: a change granting admin (and NetBird) to thousands would be a summary GitHub drops
    whole. They are cut last, after their first lines, and say how many more."""
    from users_authentik.changes import compare
    from users_authentik.diff import render_markdown
    from users_authentik.model import build_roster
    from users_authentik.settings import Settings

    settings = Settings.from_document({"netbird": {"enabled": True}})
    base = {"users": {"root": {"name": "R", "email": "r@example.org", "groups": ["admins"], "is_admin": True}},
            "groups": {"admins": {}, "vpn": {"netbird": True}}}
    head = json.loads(json.dumps(base))
    head["users"].update({f"a{i:03d}": {"name": "A" * 60, "email": f"a{i}@example.org", "groups": ["admins", "vpn"],
                                        "is_admin": True} for i in range(200)})
    changes = compare(build_roster(base, settings), build_roster(head, settings), settings, settings)
    whole = render_markdown(changes, "HEAD")
    assert whole.count("**granted to** `a") == 200 and "more not shown" not in whole

    budget = 6000  # the tables' rows alone cannot bring it under this
    cut = render_markdown(changes, "HEAD", budget=budget)

    assert len(cut.encode()) <= budget, len(cut.encode())
    assert "> [!WARNING]\n> **Admin rights change: review these first**" in cut
    box = re.search(r"^> \*\*(\d+) more not shown: a job summary holds at most 1 MiB", cut, re.M)
    assert box and int(box.group(1)) + cut.count("**granted to** `a") == 200, cut
    vpn = re.search(r"^(\d+) more not shown: .*\n(?:.*\n)*?", cut.split("#### NetBird access")[1], re.M)
    assert vpn and int(vpn.group(1)) + cut.count("NetBird access (") == 200, cut


def test_no_line_the_cuts_cannot_shorten_pushes_the_admin_box_out_of_the_job_summary() -> None:
    """With every table and the admin box cut, lines of their own still grew with the change:
    the DELETES ... AND CREATES caution named every onboarded username (one offboarding
    beside 1,000 onboardings named with @, which _md writes 9 bytes each, made a passing
    change's summary 1.27 MB); a setting's value (brand.title has no length limit) and
    allow_removal's stale names are one line each. GitHub drops such a summary whole, admin
    box included, while the guard passes. The caution names the first few; whatever still
    does not fit leaves a summary of the counts, the admin box and the verdict."""
    from users_authentik.changes import compare
    from users_authentik.diff import other_settings, render_markdown
    from users_authentik.guard import judge
    from users_authentik.model import build_roster
    from users_authentik.settings import Settings

    budget = 6000
    plain = Settings.from_document({})
    base = {"users": {"root": {"name": "R", "email": "r@example.org", "groups": ["admins"], "is_admin": True},
                      **{f"u{i}": {"name": "U", "email": f"u{i}@example.org", "groups": ["dev"]} for i in range(20)}},
            "groups": {"admins": {}, "dev": {}}}

    def rendered(head: dict, after: Settings = plain) -> str:
        old, new = build_roster(base, plain), build_roster(head, after)
        changes = compare(old, new, plain, after)
        verdict = judge(old, new, after, "HEAD", plain)
        assert not verdict.problems, verdict.problems  # the guard passes each of these
        return render_markdown(changes, "HEAD", verdict, other_settings(plain, after, set()), budget=budget)

    head = json.loads(json.dumps(base))
    del head["users"]["u0"]  # one removal: within the limits
    head["users"]["mallory"] = {"name": "M", "email": "m@example.org", "groups": ["admins"], "is_admin": True}
    head["users"].update({f"n{i:03d}" + "@" * 40: {"name": "N", "email": f"n{i}@example.org", "groups": ["dev"]}
                          for i in range(100)})
    cut = rendered(head)
    assert len(cut.encode()) <= budget, len(cut.encode())
    assert "**granted to** `mallory`" in cut  # the caution's names are cut, not the admin box
    assert re.search(r"AND CREATES mallory, n000@.* and \d+ more: if one", cut), cut

    grant = json.loads(json.dumps(base))
    grant["users"]["mallory"] = {"name": "M", "email": "m@example.org", "groups": ["admins"], "is_admin": True}
    long_title = Settings.from_document({"brand": {"title": "@" * budget}})
    stale = json.loads(json.dumps(grant))
    stale["offboarding"] = {"allow_removal": [f"gone{i:03d}" + "@" * 40 for i in range(100)]}
    titled = rendered(grant, long_title)  # the settings list is cut as the admin box is
    assert len(titled.encode()) <= budget, len(titled.encode())
    assert "> [!WARNING]\n> **Admin rights change: review these first**\n>\n>\n> **1 more not shown" in titled, titled
    assert "#### Settings changed (1)\n\n\n1 more not shown" in titled, titled
    left = rendered(stale)  # one line longer than the budget: the bounded summary
    assert len(left.encode()) <= budget, len(left.encode())
    assert ("> [!WARNING]\n> **Admin rights change: review these first**\n>\n"
            "> **1 admin rights change, not shown: `users-authentik diff` lists them.**") in left, left
    assert "**1 onboarded, 0 offboarded, 0 suspended, 0 re-activated, 0 changed; 1 admin change**" in left, left
