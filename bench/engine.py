#!/usr/bin/env python3
"""Benchmark the engine: OpenTofu planning the module at 1,000 to 10,000 users.

    make bench-engine                          # = .venv/bin/python bench/engine.py: full run; rewrites bench/README.md's engine table
    .venv/bin/python bench/engine.py --sizes 100,200 --no-write     # smoke test
    .venv/bin/python bench/engine.py --engine terraform --no-write  # the same on terraform, for comparison

For each size n the committed project is synthesized with n generated users (bench/workload.py)
and, in a scratch workspace, applied; then timed: a no-op plan of the same module and a plan of
the module with one more user (an onboarding), both against that state. Three cases, so the
provider's time and the module's expressions can be told from the engine's own:

- `module`: generated/ itself, against the stand-in provider (users_authentik/standin/, a Python plugin);
- `shape`: the same locals and the same expressions (the per-user `for` over groups, the
  superuser lookup, the outputs) on `terraform_data`, which is built into the engine: no provider;
- `bare`: `terraform_data` with `for_each = local.users` and nothing else: the engine's floor.

Each step is one process, timed from spawn to exit (wall) and by the CPU time of its whole tree
(user + system, OpenTofu and its provider processes; steadier than wall on a shared machine).
A case stops growing once one of its steps took more than --limit seconds (default 300): larger
sizes are skipped and the table says so. The growth exponent k in t ~ n^k is the least-squares
slope of log t over log n across the measured sizes.

Writes the raw numbers to bench/results/engine.json (ignored by git) and, after a run of the
default sizes on OpenTofu, the table between the engine markers of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

from users_authentik.standin.checkout import copy_project
from users_authentik.standin.harness import BACKEND_OVERRIDE, BACKEND_OVERRIDE_TEXT, find_engines
from users_authentik.standin.measure import write_section
from users_authentik.standin.serve import install_standin_provider
from users_authentik.standin.workload import users_document, with_one_more_user

SIZES = (1000, 2000, 5000, 10000)
CASES = ("module", "shape", "bare")
README = BENCH / "README.md"
RAW = BENCH / "results" / "engine.json"
BEGIN, END = "<!-- engine:results:begin -->", "<!-- engine:results:end -->"
HARD_TIMEOUT = 3600  # one step; the --limit rule normally stops a case long before


@dataclass
class Step:
    wall: float
    cpu: float


@dataclass
class Case:
    name: str
    steps: dict[int, dict[str, Step]] = field(default_factory=dict)  # n -> step -> time
    skipped: list[int] = field(default_factory=list)
    stopped_by: Optional[tuple[int, str, float]] = None  # (n, step, wall) that hit the limit


# --------------------------------------------------------------------------- the modules


def synthesize(root: Path, document: dict[str, Any]) -> Path:
    """generated/ of the project with this users.json (main.py, as a commit would)."""
    copy_project(root)
    (root / "users.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    result = run_main(root)
    if result.returncode != 0:  # seen once: jsii's runtime vanished from its temp dir; say so, try again
        print(f"engine.py: main.py failed in {root}, trying once more:\n{result.stderr[-2000:]}", file=sys.stderr)
        result = run_main(root)
    if result.returncode != 0:
        raise SystemExit(f"main.py failed for {root}:\n{result.stderr}")
    return root / "generated"


def run_main(root: Path) -> subprocess.CompletedProcess:
    """`python3 main.py` in the scratch copy, on its own code, as a commit runs it."""
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(root / "constructs"), os.environ.get("PYTHONPATH")]))}
    env.pop("CDKTF_OUTDIR", None)
    return subprocess.run([sys.executable, str(root / "main.py")], cwd=root, capture_output=True, text=True,
                          env=env, timeout=600)


def users_locals(generated: Path) -> dict[str, Any]:
    return json.loads((generated / "users.tf.json").read_text(encoding="utf-8"))["locals"]


def shape_module(generated: Path) -> dict[str, Any]:
    """The module's users and groups, with its expressions, on terraform_data (no provider)."""
    user = json.loads((generated / "cdk.tf.json").read_text(encoding="utf-8"))["resource"]["authentik_user"]["users"]
    groups_expr = user["groups"].replace("authentik_group.groups[g].id", "terraform_data.groups[g].id")
    groups_expr = groups_expr.replace("data.authentik_group.superusers.id", "terraform_data.superusers.id")
    assert "authentik" not in groups_expr, f"the module's groups expression changed shape: {user['groups']}"
    return {
        "locals": users_locals(generated),
        "resource": {"terraform_data": {
            "superusers": {"input": "authentik Admins"},
            "groups": {"for_each": "${local.groups}", "input": {"name": "${each.key}", "attributes": "${each.value.attributes}"}},
            "users": {"for_each": "${local.users}", "input": {
                "username": "${each.key}", "name": user["name"], "email": user["email"], "path": user["path"],
                "is_active": user["is_active"], "type": user["type"], "groups": groups_expr}},
        }},
        "output": {"user_ids": {"value": "${{for name, u in terraform_data.users : name => u.id}}"},
                   "group_ids": {"value": "${{for name, g in terraform_data.groups : name => g.id}}"}},
    }


def bare_module(generated: Path) -> dict[str, Any]:
    return {"locals": {"users": users_locals(generated)["users"]},
            "resource": {"terraform_data": {"users": {"for_each": "${local.users}", "input": "${each.key}"}}}}


def write_case(case: str, generated: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if case == "module":
        for path in sorted(generated.glob("*.tf.json")):
            shutil.copy2(path, dest / path.name)
    else:
        module = shape_module(generated) if case == "shape" else bare_module(generated)
        (dest / "main.tf.json").write_text(json.dumps(module), encoding="utf-8")
    return dest


# --------------------------------------------------------------------------- running


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> Step:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=HARD_TIMEOUT)
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed in {cwd}:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Step(round(wall, 2), round(cpu, 2))


def use(workspace: Path, module: Path) -> None:
    """Swap the workspace's module files for `module`'s; state and .terraform/ stay."""
    for old in workspace.glob("*.tf.json"):
        old.unlink()
    for path in module.glob("*.tf.json"):
        shutil.copy2(path, workspace / path.name)
    (workspace / BACKEND_OVERRIDE).write_text(BACKEND_OVERRIDE_TEXT)


def measure(binary: str, env: dict[str, str], base: Path, plus_one: Path, workspace: Path) -> dict[str, Step]:
    workspace.mkdir(parents=True)
    use(workspace, base)
    cli = [binary]
    timed(cli + ["init", "-input=false", "-no-color"], workspace, env)
    steps = {"apply": timed(cli + ["apply", "-input=false", "-no-color", "-auto-approve"], workspace, env)}
    steps["noop"] = timed(cli + ["plan", "-input=false", "-no-color"], workspace, env)
    use(workspace, plus_one)
    steps["plus_one"] = timed(cli + ["plan", "-input=false", "-no-color"], workspace, env)
    return steps


def exponent(points: list[tuple[int, float]]) -> Optional[float]:
    """Least-squares slope of log t over log n; None with fewer than two sizes."""
    if len(points) < 2:
        return None
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(max(t, 1e-3)) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


# --------------------------------------------------------------------------- report


def versions(binary: str) -> dict[str, str]:
    out = subprocess.run([binary, "version", "-json"], capture_output=True, text=True,
                         env={**os.environ, "TF_CLI_CONFIG_FILE": os.devnull}).stdout
    return {"engine": f"{Path(binary).name} {json.loads(out)['terraform_version']}",
            "python": platform.python_version(), "cpus": str(os.cpu_count())}


def fmt(step: Optional[Step]) -> str:
    return "—" if step is None else f"{step.wall:.1f} ({step.cpu:.1f})"


def table(cases: dict[str, Case], sizes: list[int], meta: dict[str, str], limit: float) -> str:
    lines = [f"{meta['engine']}, {meta['cpus']} cores shared with other work; one run per step; "
             f"seconds wall (CPU of the process tree); a case stops growing after a step over {limit:.0f} s.", "",
             "| case | users | apply | no-op plan | +1 user plan |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, case in cases.items():
        for n in sizes:
            if n in case.steps:
                s = case.steps[n]
                lines.append(f"| {name} | {n:,} | {fmt(s['apply'])} | {fmt(s['noop'])} | {fmt(s['plus_one'])} |")
            elif n in case.skipped:
                lines.append(f"| {name} | {n:,} | skipped | skipped | skipped |")
    lines += ["", "Growth exponent k (t ~ n^k, least squares over the measured sizes; wall / CPU):", "",
              "| case | no-op plan | +1 user plan | apply |", "| --- | ---: | ---: | ---: |"]
    for name, case in cases.items():
        cells = []
        for step in ("noop", "plus_one", "apply"):
            ks = [exponent([(n, getattr(case.steps[n][step], a)) for n in sorted(case.steps)]) for a in ("wall", "cpu")]
            cells.append(" / ".join("—" if k is None else f"{k:.2f}" for k in ks))
        lines.append(f"| {name} | {' | '.join(cells)} |")
    provider = [(n, cases["module"].steps[n]["noop"].cpu - cases["shape"].steps[n]["noop"].cpu)
                for n in sizes if n in cases["module"].steps and n in cases["shape"].steps]
    if provider:
        lines += ["", "The provider's share of a no-op plan (module − shape, CPU s): "
                  + ", ".join(f"{n:,}: {d:.1f}" for n, d in provider) + "."]
    stops = [f"{name} at {c.stopped_by[0]:,} ({c.stopped_by[1]} took {c.stopped_by[2]:.0f} s > {limit:.0f} s): "
             f"skipped {', '.join(f'{n:,}' for n in c.skipped)}" for name, c in cases.items() if c.stopped_by and c.skipped]
    if stops:
        lines += ["", "Stopped by the time limit: " + "; ".join(stops) + "."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--engine", choices=("tofu", "terraform"), default="tofu")
    parser.add_argument("--limit", type=float, default=300.0, help="seconds; a slower step stops its case growing")
    parser.add_argument("--no-write", action="store_true", help="leave bench/README.md as it is")
    args = parser.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    names = [c for c in args.cases.split(",") if c]
    engine = next((e for e in find_engines({}) if e.name == args.engine), None)
    if engine is None:
        print(f"engine.py: no {args.engine} (`make setup` builds OpenTofu into .tools/bin when Go is installed)",
              file=sys.stderr)
        return 2
    meta = versions(engine.path)
    cases = {name: Case(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="users-authentik-engine-") as tmp:
        scratch = Path(tmp)
        env = {**os.environ, **install_standin_provider(scratch / "provider", binary=engine.path)}
        env = {k: v for k, v in env.items() if not k.startswith(("TF_CLI_ARGS", "TF_DATA_DIR", "TF_WORKSPACE"))}
        for n in sizes:
            if all(case.stopped_by for case in cases.values()):
                for case in cases.values():
                    case.skipped.append(n)
                continue
            document = users_document(n)
            generated = synthesize(scratch / f"project-{n}", document)
            plus = synthesize(scratch / f"project-{n}-plus-one", with_one_more_user(document)[0])
            for name, case in cases.items():
                if case.stopped_by:
                    case.skipped.append(n)
                    continue
                base = write_case(name, generated, scratch / f"{name}-{n}" / "base")
                plus_one = write_case(name, plus, scratch / f"{name}-{n}" / "plus-one")
                steps = measure(engine.path, env, base, plus_one, scratch / f"{name}-{n}" / "workspace")
                case.steps[n] = steps
                print(f"{name:7} {n:6,}  " + "  ".join(f"{k} {fmt(v)}" for k, v in steps.items()), flush=True)
                slowest = max(steps.items(), key=lambda kv: kv[1].wall)
                if slowest[1].wall > args.limit:
                    case.stopped_by = (n, slowest[0], slowest[1].wall)
                shutil.rmtree(scratch / f"{name}-{n}")
    section = table(cases, sizes, meta, args.limit)
    print("\n" + section)
    RAW.parent.mkdir(exist_ok=True)
    RAW.write_text(json.dumps({"meta": meta, "limit": args.limit, "cases": {
        k: {"steps": {str(n): {s: asdict(t) for s, t in v.items()} for n, v in c.steps.items()},
            "skipped": c.skipped, "stopped_by": c.stopped_by} for k, c in cases.items()}}, indent=1) + "\n")
    if not args.no_write and sizes == list(SIZES) and names == list(CASES) and args.engine == "tofu":
        write_section(README, BEGIN, END, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
