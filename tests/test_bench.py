"""The benchmark's inputs and counters (bench/): behaviour only, nothing timed."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.helpers import ROOT, read_json, run_main, write_json

sys.path.insert(0, str(ROOT / "bench"))

import bench  # noqa: E402
from workload import changed_lines, users_document, with_one_more_user  # noqa: E402


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
    before = bench.read_tree(project / "generated")

    bigger, added = with_one_more_user(document)
    assert set(bigger["users"]) - set(document["users"]) == {added}
    write_json(project / "users.json", bigger)
    result = run_main(project)
    assert result.returncode == 0, result.stderr
    after = bench.read_tree(project / "generated")
    assert added in read_json(project / "generated" / "users.tf.json")["locals"]["users"]
    assert 1 <= changed_lines(before, after) <= bench.MAX_LINES


def test_changed_lines_counts_additions_and_removals() -> None:
    same = {"a": "x\ny\n"}
    assert changed_lines(same, same) == 0
    assert changed_lines({"a": "x\ny\n"}, {"a": "x\nnew\ny\n"}) == 1
    assert changed_lines({"a": "x\ny\n"}, {"a": "x\nY\n"}) == 2  # a changed line: - and +
    assert changed_lines({"a": "x\n"}, {"a": "x\n", "b": "1\n2\n"}) == 2  # a new file: all its lines
    assert changed_lines({"a": "x\n", "b": "1\n"}, {"a": "x\n"}) == 1


def test_sampler_measures_a_process_tree() -> None:
    sample = bench.run_once([sys.executable, "-c", "import subprocess, sys; "
                             "subprocess.run([sys.executable, '-c', 'import time; time.sleep(0.2)'])"], ROOT)
    assert sample.wall_s >= 0.2
    assert sample.processes == 2
    assert sample.peak_kb >= sample.tree_rss_kb > 0

