"""What the synthesized module contains: users, groups, superuser membership, provider."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import ROOT, module, read_json, run_main, run_main_process, tree_digest, write_json
from users_authentik import synth
from users_authentik.cli import REBUILD_ENV
from users_authentik.cdktf_start import CdktfStart
from users_authentik.loading import read_folder, read_settings
from users_authentik.settings import Settings
from users_authentik.synth import STACK_FILE

CODE = ROOT / "constructs" / "users_authentik"


def test_example_module_has_users_groups_and_admin_lookup(example_module: Path) -> None:
    mod = module(example_module)
    user = mod["resource"]["authentik_user"]["users"]
    assert user["for_each"] == "${local.users}"
    assert user["username"] == "${each.key}"
    assert user["is_active"] == "${each.value.is_active}"
    assert "authentik_group.groups[g].id" in user["groups"]
    assert "data.authentik_group.superusers.id" in user["groups"]
    group = mod["resource"]["authentik_group"]["groups"]
    assert group["for_each"] == "${local.groups}" and group["name"] == "${each.key}"
    # Membership is set from the user side only.
    assert "users" not in group
    lookup = mod["data"]["authentik_group"]["superusers"]
    assert lookup == {"name": "authentik Admins", "include_users": False}


def test_rows_carry_each_users_fields(project: Path) -> None:
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev", "admins"],
                             "active": False, "path": "users/eng"}
    write_json(project / "users.json", users)
    assert run_main(project).returncode == 0
    rows = module(project / "generated")["locals"]
    assert rows["users"]["ada"] == {"name": "Ada", "email": "ada@example.org", "groups": ["admins", "dev"],
                                    "is_admin": False, "is_active": False, "path": "users/eng"}
    assert rows["users"]["stefan"]["is_admin"] is True
    assert rows["users"]["stefan"]["path"] == "users"  # settings default
    assert sorted(rows["groups"]) == ["admins", "dev"]


def test_groups_section_declares_groups_and_attributes(project: Path) -> None:
    users = read_json(project / "users.json")
    users["groups"] = {"admins": {"attributes": {"b": 1, "a": "x", "c": "<ops & dev>"}}, "empty": {}}
    write_json(project / "users.json", users)
    assert run_main(project).returncode == 0
    groups = module(project / "generated")["locals"]["groups"]
    # Sorted, compact and with Go's escapes: the text the provider reads back.
    assert groups["admins"]["attributes"] == '{"a":"x","b":1,"c":"\\u003cops \\u0026 dev\\u003e"}'
    assert json.loads(groups["admins"]["attributes"])["c"] == "<ops & dev>"
    assert groups["empty"]["attributes"] == "{}"


def test_provider_is_pinned_and_carries_no_credentials(example_module: Path, project: Path) -> None:
    mod = module(example_module)
    assert mod["terraform"]["required_providers"]["authentik"] == {
        "source": "goauthentik/authentik", "version": "2026.5.0"}
    assert mod["provider"]["authentik"] == [{}]
    write_json(project / "settings.json", {"provider": {"version": "2026.8.1"}})
    assert run_main(project).returncode == 0
    assert module(project / "generated")["terraform"]["required_providers"]["authentik"]["version"] == "2026.8.1"


def test_superuser_group_is_a_setting(project: Path) -> None:
    write_json(project / "settings.json", {"users": {"superuser_group": "Platform Admins"}})
    assert run_main(project).returncode == 0
    assert module(project / "generated")["data"]["authentik_group"]["superusers"]["name"] == "Platform Admins"


def test_no_secret_backend_or_machine_path_in_generated(example_module: Path) -> None:
    text = "".join(p.read_text() for p in sorted(example_module.glob("*")))
    assert str(example_module.parent) not in text
    for needle in ("/tmp", "/root", "/home", "/work"):
        assert needle not in text, needle
    mod = module(example_module)
    assert "backend" not in mod["terraform"]
    facts = read_json(ROOT / "schemas" / "vendor" / "authentik-provider" / "schema-v2026.5.0.json")
    for kind, table in (("resource", "resources"), ("data", "data_sources")):
        for rtype, named in mod[kind].items():
            sensitive = {a for a, info in facts[table][rtype][""].items() if info["sensitive"]}
            for name, body in named.items():
                assert not sensitive & set(body), f"{rtype}.{name} sets {sensitive & set(body)}"


def test_outputs_map_names_to_ids(example_module: Path) -> None:
    out = module(example_module)["output"]
    assert out["user_ids"]["value"] == "${{for name, u in authentik_user.users : name => u.id}}"
    assert out["group_ids"]["value"] == "${{for name, g in authentik_group.groups : name => g.id}}"


def test_generated_files_are_valid_json_with_one_row_per_user(example_module: Path) -> None:
    lines = (example_module / "users.tf.json").read_text().splitlines()
    assert sum('"stefan": {' in line for line in lines) == 1
    json.loads("\n".join(lines))


# --- cdk.tf.json is rebuilt only when its inputs change (synth.py) ---------------------

def _without_node(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has git but no node: jsii cannot start."""
    bin_dir = tmp_path / "bin-without-node"
    if not bin_dir.exists():
        bin_dir.mkdir()
        (bin_dir / "git").symlink_to(shutil.which("git"))
    return {"PATH": str(bin_dir)}


def test_a_users_only_change_never_starts_node(project: Path, tmp_path: Path) -> None:
    stack_before = (project / "generated" / STACK_FILE).read_bytes()
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    write_json(project / "users.json", users)
    result = run_main_process(project, env=_without_node(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "users.tf.json updated" in result.stdout and STACK_FILE not in result.stdout
    assert "ada" in module(project / "generated")["locals"]["users"]
    assert (project / "generated" / STACK_FILE).read_bytes() == stack_before


def test_a_settings_change_rebuilds_the_stack(project: Path, tmp_path: Path) -> None:
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    assert run_main_process(project, env=_without_node(tmp_path)).returncode == 1  # needs cdktf: proves it rebuilds
    assert run_main(project).returncode == 0
    assert module(project / "generated")["resource"]["authentik_brand"]["brand"]["branding_title"] == "Welcome"


def test_a_rebuild_with_a_bad_users_json_reports_it_and_leaves_no_start_running(project: Path, tmp_path: Path) -> None:
    # cdktf starts on a thread as soon as settings.json asks for a rebuild (CdktfStart);
    # a users.json problem found meanwhile is what is reported, with or without cdktf.
    generated = tree_digest(project / "generated")
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "not an email"}
    write_json(project / "users.json", users)
    for result in (run_main(project), run_main_process(project, env=_without_node(tmp_path))):
        assert result.returncode == 1
        assert "users.ada.email" in result.stderr and "cdktf" not in result.stderr, result.stderr
        assert tree_digest(project / "generated") == generated
    assert not [t for t in threading.enumerate() if t.name == "cdktf-start"]


# A child that records which of our modules are imported when synth starts cdktf,
# and starts nothing (so no Node): wait() then fails, as a start that failed would.
_RECORD_CDKTF_START = """
import json, sys
from users_authentik import cdktf_start
def record(self):
    print(json.dumps(sorted(m for m in sys.modules if m.startswith("users_authentik."))))
    self._failed, self._thread, self._holds = RuntimeError("not started"), None, False
cdktf_start.CdktfStart.__init__ = record
from users_authentik.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _child(project: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """`python -c script args` in project, with this tree's package and no rebuild asked for."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "constructs")}
    env.pop(REBUILD_ENV, None)
    return subprocess.run([sys.executable, "-c", script, *args], cwd=project, capture_output=True, text=True,
                          env=env, timeout=60)


def _cdktf_starts(project: Path, *args: str) -> tuple[list[list[str]], subprocess.CompletedProcess]:
    result = _child(project, _RECORD_CDKTF_START, *args)
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("[")], result


def test_a_rebuild_starts_cdktf_before_the_checks_are_even_imported(project: Path) -> None:
    # --rebuild (CI) renders cdk.tf.json whatever settings.json says: nothing to decide first.
    starts, result = _cdktf_starts(project, "--rebuild")
    assert len(starts) == 1 and result.returncode != 0, result
    assert "not started" in result.stderr
    assert not {"users_authentik.pipeline", "users_authentik.check", "users_authentik.loading"} & set(starts[0])
    # Without it, synth starts cdktf only once settings.json says cdk.tf.json is out of date.
    starts, result = _cdktf_starts(project)
    assert starts == [] and result.returncode == 0, result
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    starts, result = _cdktf_starts(project)
    assert len(starts) == 1 and "users_authentik.loading" in starts[0] and result.returncode != 0, result


@pytest.fixture
def caller_interval():
    """A switch interval of the caller's own, put back after the test."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.004)
    yield 0.004
    sys.setswitchinterval(before)


def test_cdktfs_start_hands_the_gil_over_sooner_only_while_it_runs(caller_interval: float) -> None:
    # While cdktf is imported on its thread, the busy checks must not keep the GIL for the
    # default 5 ms at each file the import reads (bench/README.md); afterwards the run's
    # own setting is back.
    start = CdktfStart()
    assert sys.getswitchinterval() == CdktfStart.SWITCH_INTERVAL < caller_interval
    start.wait()
    assert sys.getswitchinterval() == caller_interval
    start.join()  # a second join restores nothing twice
    assert sys.getswitchinterval() == caller_interval


@pytest.mark.parametrize("collecting", [True, False])
def test_a_run_walks_no_cycles_and_leaves_the_callers_collector(
        project: Path, collecting: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # One run is a batch whose objects live until it ends: the cyclic collector would walk
    # 10,000 users' objects again and again (bench/README.md). A caller in the same process
    # (these tests, init's own synth) gets its own setting back, on a failure too.
    import gc

    from users_authentik import pipeline
    seen: list[bool] = []
    real = pipeline.run

    def run(*args, **kw):
        seen.append(gc.isenabled())
        return real(*args, **kw)
    monkeypatch.setattr(pipeline, "run", run)
    (gc.enable if collecting else gc.disable)()
    try:
        assert run_main(project, "check").returncode == 0
        write_json(project / "users.json", {"users": {"x": {"name": "X"}}})  # no email: a problem
        assert run_main(project, "check").returncode == 1
        assert seen == [False, False] and gc.isenabled() is collecting
    finally:
        gc.enable()


@pytest.mark.parametrize("entry", ["main.py", "-m users_authentik", "console script"])
def test_the_process_ends_without_the_collector_walking_what_the_run_built(project: Path, entry: str) -> None:
    # At the interpreter's end its final collections would walk every object the run left
    # alive (0.1-0.15 s with cdktf's classes or 10,000 users: bench/README.md). Each way to
    # start the command freezes them once the run is done; an exit hook registered before
    # the run (so run after it) sees them frozen, and the run's output and status as usual.
    import tomllib
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    start = {"main.py": f"runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')",
             "-m users_authentik": "runpy.run_module('users_authentik', run_name='__main__')",
             "console script": "import importlib; module, _, name = {!r}.partition(':'); "
                               "sys.exit(getattr(importlib.import_module(module), name)())".format(scripts["users-authentik"])}
    code = ("import atexit, gc, runpy, sys; "
            "atexit.register(lambda: print('frozen:', gc.get_freeze_count() > 0, file=sys.stderr)); "
            f"sys.argv = ['users-authentik', 'check']; {start[entry]}")
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20"})
    assert result.returncode == 0 and result.stderr.strip().endswith("frozen: True"), result


def test_starts_that_overlap_leave_the_callers_interval(caller_interval: float) -> None:
    # Two runs on two threads of one process (an embedding caller): the second start must
    # not take the first one's short interval for the caller's and restore that.
    first, second = CdktfStart(), CdktfStart()
    first.join()
    assert sys.getswitchinterval() == CdktfStart.SWITCH_INTERVAL  # second still starting
    second.join()
    assert sys.getswitchinterval() == caller_interval


def test_a_start_whose_thread_cannot_run_fails_at_wait_and_leaves_the_interval(
        caller_interval: float, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(threading.Thread, "start", no_thread)
    start = CdktfStart()  # a run that finds problems in users.json reports those
    assert sys.getswitchinterval() == caller_interval
    with pytest.raises(RuntimeError, match="can't start new thread"):
        start.wait()
    assert sys.getswitchinterval() == caller_interval


def test_ctrl_c_while_the_start_is_joined_leaves_the_interval(
        caller_interval: float, monkeypatch: pytest.MonkeyPatch) -> None:
    start = CdktfStart()
    assert start._thread is not None
    thread = start._thread

    def interrupted(timeout: float | None = None) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr(thread, "join", interrupted)
    with pytest.raises(KeyboardInterrupt):
        start.join()
    assert sys.getswitchinterval() == caller_interval
    monkeypatch.undo()
    thread.join()


def test_a_linked_stack_file_is_refused_before_it_is_read(project: Path, tmp_path: Path) -> None:
    # Whether cdk.tf.json is current is asked before users.json is checked (to start cdktf
    # early), and so before the rest of the run: still only of a plain file. A link to a
    # pipe that nobody writes would make that read wait for ever.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    stack = project / "generated" / STACK_FILE
    stack.unlink()
    stack.symlink_to(pipe)
    result = run_main_process(project, timeout=60)
    assert result.returncode == 1 and f"generated/{STACK_FILE}" in result.stderr, result.stderr
    assert "symbolic link" in result.stderr


def test_equal_settings_written_differently_reuse_the_stack(project: Path, tmp_path: Path) -> None:
    # The hash is of the settings with their defaults, not of settings.json's bytes.
    write_json(project / "settings.json", {"brand": {"title": "Sign in"}})  # the default, spelt out
    result = run_main_process(project, env=_without_node(tmp_path))
    assert result.returncode == 0 and "up to date" in result.stdout, result.stderr


@pytest.mark.parametrize("edit", [
    lambda text: text.replace('"goauthentik/authentik"', '"evil/authentik"'),  # a hand edit, hash left
    lambda text: text.replace('"sha256": "', '"sha256": "0', 1)[:-1],          # a damaged hash
    lambda text: text.replace('  "//": {\n', '  "//": {"x": 1,\n', 1),          # a different header
    lambda text: "",
])
def test_a_stale_or_edited_stack_is_rebuilt(project: Path, edit) -> None:
    stack = project / "generated" / STACK_FILE
    committed = stack.read_bytes()
    stack.write_text(edit(committed.decode("utf-8")), encoding="utf-8")
    result = run_main(project)
    assert result.returncode == 0, result.stderr
    assert f"{STACK_FILE} updated" in result.stdout
    assert stack.read_bytes() == committed


def test_a_change_to_the_stacks_code_rebuilds_it(project: Path) -> None:
    stack_py = project / "constructs" / "users_authentik" / "stack.py"
    stack_py.write_text(stack_py.read_text(encoding="utf-8") + "\n# a change\n", encoding="utf-8")
    result = run_main_process(project)
    assert result.returncode == 0 and f"{STACK_FILE} updated" in result.stdout, result.stderr
    # Only the hash differs: same resources.
    assert module(project / "generated") == module(ROOT / "generated")


def test_rebuild_synthesizes_afresh(project: Path, tmp_path: Path) -> None:
    generated = tree_digest(project / "generated")
    for args, env in ((["--rebuild"], {}), ([], {"USERS_AUTHENTIK_REBUILD": "1"})):
        failed = run_main_process(project, *args, env={**env, **_without_node(tmp_path)})
        assert failed.returncode == 1  # it tried to start cdktf: the stack was synthesized
        assert f"synthesizing generated/{STACK_FILE} with cdktf failed" in failed.stderr, failed.stderr
        assert tree_digest(project / "generated") == generated
    result = run_main(project, "--rebuild")
    assert result.returncode == 0 and "up to date" in result.stdout, result.stderr
    result = run_main(project, "check", "--rebuild")
    assert result.returncode == 2 and "unrecognized arguments: --rebuild" in result.stderr


def test_the_pinned_library_versions_are_requirements_txts(monkeypatch: pytest.MonkeyPatch) -> None:
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().split("\n")
                if "==" in line and not line.startswith("#"))
    assert synth.STACK_LIBRARIES == {name: pins[name] for name in synth.STACK_LIBRARIES}
    # They are inputs of the seal: a bump rebuilds cdk.tf.json.
    settings = Settings.defaults()
    before = synth.stack_inputs(settings)
    monkeypatch.setitem(synth.STACK_LIBRARIES, "cdktf", "0.21.1")
    assert synth.stack_inputs(settings) != before


def test_a_stack_is_rendered_only_by_the_pinned_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    # A venv with another cdktf would render a file CI does not, under a seal that says it does.
    from importlib import metadata
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: "0.21.1" if name == "cdktf" else real(name))
    with pytest.raises(synth.UnpinnedLibraries, match=r"cdktf 0\.21\.1 is installed, synth.STACK_LIBRARIES pins 0\.21\.0"):
        synth.render_stack(Settings.defaults())
    monkeypatch.setattr(metadata, "version", lambda name: "99" if name == "attrs" else real(name))
    assert synth.unpinned_libraries() == []



def test_a_bump_of_requirements_txt_alone_says_to_bump_stack_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    # Renovate or Dependabot bumps cdktf in requirements.txt, CI installs it, and STACK_LIBRARIES
    # still names the old version: the message must not claim requirements.txt pins the old
    # one, nor blame Node, and must name the constant to bump.
    from users_authentik.report import failure_text
    from users_authentik.result import Failure

    monkeypatch.setitem(synth.STACK_LIBRARIES, "cdktf", "0.20.0")
    with pytest.raises(synth.UnpinnedLibraries) as refused:
        synth.render_stack(Settings.defaults())
    message = str(refused.value)
    assert "cdktf 0.21.0 is installed, synth.STACK_LIBRARIES pins 0.20.0" in message
    assert "requirements.txt pins" not in message
    assert "bump synth.STACK_LIBRARIES" in message and "make install" in message
    text = failure_text(Failure(error=refused.value))
    assert text.startswith("UnpinnedLibraries: ") and "Node.js" not in text
    assert "nothing was written to generated/" in text

_USERS_ONLY_READS = """
import sys
from users_authentik.cli import main
code = main(sys.argv[1:])
print("importlib.metadata" in sys.modules)
sys.exit(code)
"""


def test_a_users_only_run_reads_no_package_metadata(project: Path) -> None:
    # Most commits only add people: they keep cdk.tf.json, and importing importlib.metadata
    # (email, zipfile, csv...) was a tenth of such a run (bench/README.md).
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "groups": ["dev"]}
    write_json(project / "users.json", users)
    result = _child(project, _USERS_ONLY_READS)
    assert result.returncode == 0 and "users.tf.json updated" in result.stdout, result
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout


def test_the_codes_line_endings_are_not_an_input(tmp_path: Path) -> None:
    # A clone with core.autocrlf=true checks the package out with CRLF; its seal must be
    # the one CI computes from the LF checkout, or every rebuild there is "stale" in CI.
    settings = Settings.defaults()
    for name in synth.STACK_CODE:
        (tmp_path / name).write_bytes((CODE / name).read_bytes().replace(b"\n", b"\r\n"))
    assert synth.stack_inputs(settings, tmp_path) == synth.stack_inputs(settings)
    edited = tmp_path / synth.STACK_CODE[0]
    edited.write_bytes(edited.read_bytes() + b"# a change\r\n")
    assert synth.stack_inputs(settings, tmp_path) != synth.stack_inputs(settings)


def test_the_settings_code_the_stack_calls_is_an_input(tmp_path: Path) -> None:
    # settings.py is code as well as data: the stack calls FlowsSettings.all() (flows.py)
    # and NetBirdSettings.idp_manager (netbird.py). An edit there changed cdk.tf.json (every
    # flow's title) while a local synth still found the old file current.
    settings = Settings.defaults()
    for name in synth.STACK_CODE:
        shutil.copyfile(CODE / name, tmp_path / name)
    assert synth.stack_inputs(settings, tmp_path) == synth.stack_inputs(settings)
    edited = (CODE / "settings.py").read_text(encoding="utf-8")
    old = "return {name: value for name, value in values.items() if isinstance(value, FlowSettings)}"
    assert old in edited
    (tmp_path / "settings.py").write_text(edited.replace(old, old.replace(
        "name: value", "name: FlowSettings(value.slug, 'Other ' + value.title)")), encoding="utf-8")
    assert synth.stack_inputs(settings, tmp_path) != synth.stack_inputs(settings)


def test_a_stack_checked_out_with_crlf_is_still_current() -> None:
    # core.autocrlf=true checks generated/cdk.tf.json out with CRLF (and commits it with LF):
    # without this, every synth in such a checkout would start Node to rebuild it.
    settings = read_settings(read_folder(ROOT)).settings
    assert settings is not None
    text = (ROOT / "generated" / STACK_FILE).read_text(encoding="utf-8")  # current: a test says so
    assert synth.is_current(text, settings) and synth.is_current(text.replace("\n", "\r\n"), settings)
    assert not synth.is_current(text.replace("\n", "\r\n").replace('"Generated', '"generated', 1), settings)


def _package_imports(module: str) -> set[str]:
    tree = ast.parse((CODE / f"{module}.py").read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            found |= {node.module} if node.module else {alias.name for alias in node.names}
    return found


def test_the_hashed_code_is_all_the_stack_imports_of_ours() -> None:
    seen, todo = set(), ["stack", "synth"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        # synth's own imports (addressing, model) serve the rows only; settings.py's
        # (schema_check) read settings.json, whose values are hashed as data.
        if name not in ("synth", "settings"):
            todo += sorted(_package_imports(name))
    assert {f"{name}.py" for name in seen} == set(synth.STACK_CODE)


def test_the_stack_found_current_is_the_one_written(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # synth decides whether cdk.tf.json is current before users.json is checked (to start
    # cdktf early): it must then keep the text it judged, not a second read of the file,
    # which may since have changed (here: a hand edit saved while users.json is checked).
    from users_authentik import pipeline

    stack = project / "generated" / STACK_FILE
    current = stack.read_text(encoding="utf-8")
    real_validate = pipeline.validate

    def validate_while_edited(*args, **kwargs):
        stack.write_text(current.replace('"Sign in"', '"Hand-edited"', 1), encoding="utf-8")
        return real_validate(*args, **kwargs)

    monkeypatch.setattr(pipeline, "validate", validate_while_edited)
    assert '"Sign in"' in current
    result = run_main(project)
    assert result.returncode == 0, result.stderr
    assert stack.read_text(encoding="utf-8") == current
    assert synth.is_current(stack.read_text(encoding="utf-8"), Settings.defaults())


def _broken_jsii(tmp_path: Path) -> dict[str, str]:
    """An environment whose jsii fails to import with an ImportError (a broken install)."""
    fake = tmp_path / "broken-jsii"
    (fake / "jsii").mkdir(parents=True, exist_ok=True)
    (fake / "jsii" / "__init__.py").write_text('raise ImportError("cannot import name \'x\' from \'cattrs\'")\n')
    return {"PYTHONPATH": str(fake)}


@pytest.mark.parametrize("module", ["cdktf", "jsii"])
def test_a_start_that_calls_sys_exit_is_a_failure_not_a_silent_success(project: Path, tmp_path: Path, module: str) -> None:
    # CI synthesizes with --rebuild, then compares generated/ with what is committed: a run
    # that exited 0 writing nothing would pass any committed cdk.tf.json.
    fake = tmp_path / f"exiting-{module}"
    (fake / module).mkdir(parents=True)
    (fake / module / "__init__.py").write_text("import sys\nsys.exit(0)\n")
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    generated = tree_digest(project / "generated")
    result = run_main_process(project, "--rebuild", env={"PYTHONPATH": str(fake)})
    assert result.returncode == 1 and "SystemExit" in result.stderr, result
    assert "Traceback" not in result.stderr
    assert tree_digest(project / "generated") == generated


def test_a_render_that_calls_sys_exit_is_a_failure(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from users_authentik import pipeline

    def exits(settings: Settings) -> str:
        raise SystemExit(0)
    monkeypatch.setattr(pipeline, "render_stack", exits)
    generated = tree_digest(project / "generated")
    result = pipeline.run("synth", project, rebuild=True)
    assert result.failure is not None and isinstance(result.failure.error, SystemExit)
    assert not result.ok and tree_digest(project / "generated") == generated


def test_a_broken_jsii_is_a_failure_not_a_traceback(project: Path, tmp_path: Path) -> None:
    # CdktfStart imports jsii before users.json is checked: a failure there must neither hide
    # users.json's problems nor escape as a traceback (it is reported as before, by synth).
    generated = tree_digest(project / "generated")
    write_json(project / "settings.json", {"brand": {"title": "Welcome"}})
    result = run_main_process(project, env=_broken_jsii(tmp_path))
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    assert "cattrs" in result.stderr, result.stderr
    assert tree_digest(project / "generated") == generated
    users = read_json(project / "users.json")
    users["users"]["ada"] = {"name": "Ada", "email": "not an email"}
    write_json(project / "users.json", users)
    result = run_main_process(project, env=_broken_jsii(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "users.ada.email" in result.stderr and "cattrs" not in result.stderr, result.stderr
    assert tree_digest(project / "generated") == generated
