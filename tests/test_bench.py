"""The benchmark's inputs and counters (users_authentik.standin, what bench/ runs on; the
probe script bench/per_user.py as a process): behaviour only, nothing timed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, read_json, run_main, write_json
from users_authentik.standin.checkout import onboarding_repo
from users_authentik.standin.measure import flatness, run_once, write_section
from users_authentik.standin.workload import changed_lines, read_tree, users_document, with_one_more_user


def test_generated_users_pass_the_projects_checks(project: Path) -> None:
    document = users_document(50, seed=6)
    assert document == users_document(50, seed=6)  # deterministic
    assert document != users_document(50, seed=7)
    users = document["users"]
    assert len(users) == 50
    assert any(u.get("is_admin") and u.get("active", True) for u in users.values())
    assert any(u.get("active") is False for u in users_document(200)["users"].values())
    write_json(project / "users.json", document)
    result = run_main(project, "check")
    assert result.returncode == 0, result.stderr
    assert "50 users" in result.stdout


def test_one_more_user_is_a_small_diff_of_generated(project: Path) -> None:
    document = users_document(50)
    write_json(project / "users.json", document)
    assert run_main(project).returncode == 0
    before = read_tree(project / "generated")

    bigger, added = with_one_more_user(document)
    assert set(bigger["users"]) - set(document["users"]) == {added}
    write_json(project / "users.json", bigger)
    result = run_main(project)
    assert result.returncode == 0, result.stderr
    after = read_tree(project / "generated")
    assert added in read_json(project / "generated" / "users.tf.json")["locals"]["users"]
    assert changed_lines(before, after) == 1  # the new person's row


def test_changed_lines_counts_additions_and_removals() -> None:
    same = {"a": "x\ny\n"}
    assert changed_lines(same, same) == 0
    assert changed_lines({"a": "x\ny\n"}, {"a": "x\nnew\ny\n"}) == 1
    assert changed_lines({"a": "x\ny\n"}, {"a": "x\nY\n"}) == 2  # a changed line: - and +
    assert changed_lines({"a": "x\n"}, {"a": "x\n", "b": "1\n2\n"}) == 2  # a new file: all its lines
    assert changed_lines({"a": "x\n", "b": "1\n"}, {"a": "x\n"}) == 1


def test_sampler_measures_a_process_tree() -> None:
    sample = run_once([sys.executable, "-c", "import subprocess, sys; "
                             "subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.2)'])"], ROOT)
    assert sample.wall_s >= 0.2
    assert sample.processes == 2
    assert sample.peak_kb >= sample.tree_rss_kb > 0


def test_own_cpu_is_the_process_and_its_threads_not_its_children() -> None:
    # main.py's own CPU is the floor of its wall time (one interpreter); Node's is not in it.
    busy = "import time\ndef spin():\n    t = time.thread_time()\n    while time.thread_time() - t < 0.3: pass\n"
    code = (busy + "import subprocess, sys, threading\nthread = threading.Thread(target=spin); thread.start()\n"
            "spin(); thread.join()\n"
            f"subprocess.run([sys.executable, '-c', {busy + 'spin(); spin()'!r}])\n")
    sample = run_once([sys.executable, "-c", code], ROOT)
    assert sample.own_cpu_s is not None
    assert 0.6 <= sample.own_cpu_s < 0.9  # two threads of 0.3 s each (and the start-up)
    assert sample.cpu_s >= sample.own_cpu_s + 0.6  # the child's 0.6 s: in the tree, not its own


def test_a_child_caught_before_exec_is_not_counted_as_a_copy_of_its_parent() -> None:
    """subprocess forks (or vforks) and then execs: between the two, the child shows the
    parent's memory. After exec, its own peak replaces that reading."""
    code = ("import subprocess, sys, time; big = bytearray(300 * 2**20); big[::4096] = b'x' * len(big[::4096])\n"
            "for _ in range(20):\n"
            "    subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.01)'])\n")
    sample = run_once([sys.executable, "-c", code], ROOT)
    assert sample.processes > 2
    parent = 300 * 1024
    assert parent <= sample.peak_kb < parent + 100 * 1024  # one parent, plus small children


def test_onboarding_repo_is_a_commit_adding_one_person(tmp_path: Path) -> None:
    root = onboarding_repo(ROOT, tmp_path / "repo", 30, seed=6)
    head = subprocess.run(["git", "-C", str(root), "show", "HEAD:users.json"], capture_output=True,
                          text=True, check=True).stdout
    assert json.loads(head)["users"] == users_document(30, 6)["users"]
    assert len(read_json(root / "users.json")["users"]) == 31
    result = run_main(root, "diff")
    assert result.returncode == 0 and "onboard" in result.stdout.lower(), result.stdout


def test_the_per_user_probe_runs_the_pipeline(tmp_path: Path) -> None:
    root = onboarding_repo(ROOT, tmp_path / "repo", 20, seed=6)
    probe = subprocess.run([sys.executable, str(ROOT / "bench" / "per_user.py"), "--repeats", "2"], cwd=root,
                           capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    repeats = [json.loads(line) for line in probe.stdout.splitlines()]
    assert len(repeats) == 2 and all(0 < r["cpu_s"] and 0 < r["wall_s"] for r in repeats)
    assert "users" in read_json(root / "generated" / "users.tf.json")["locals"]


def test_flatness_passes_a_linear_cost_and_fails_a_quadratic_one() -> None:
    linear = {n: 0.5 + n * 20e-6 for n in (1000, 5000, 10000)}  # 20 ms per 1,000 users
    judged = flatness(linear, 1.5, 5.0)
    assert judged is not None and judged.flat
    assert (round(judged.small), round(judged.large), round(judged.limit)) == (20, 20, 30)
    assert (judged.start_a, judged.a, judged.start_b, judged.b) == (1000, 5000, 5000, 10000)
    quadratic = {n: 0.5 + (n / 1000) ** 2 * 2e-3 for n in (1000, 5000, 10000)}
    judged = flatness(quadratic, 1.5, 5.0)
    assert judged is not None and not judged.flat
    assert flatness({1000: 1.0, 5000: 1.1}, 1.5, 5.0) is None  # one step: nothing to compare


def test_a_benchmark_rewrites_only_its_own_section(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- a:begin -->\nold a\n<!-- a:end -->\n"
                      "middle\n<!-- b:begin -->\nold b\n<!-- b:end -->\n", encoding="utf-8")
    write_section(readme, "<!-- b:begin -->", "<!-- b:end -->", "new b\n")
    assert readme.read_text(encoding="utf-8") == (
        "intro\n<!-- a:begin -->\nold a\n<!-- a:end -->\nmiddle\n<!-- b:begin -->\nnew b\n<!-- b:end -->\n")
    with pytest.raises(SystemExit, match="lacks the <!-- c:begin -->"):
        write_section(readme, "<!-- c:begin -->", "<!-- c:end -->", "x\n")
