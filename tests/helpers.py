"""Shared test helpers: a scratch copy of the project, running main.py, reading generated/."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# copy_project: what main.py needs, in a scratch copy (shared with bench/).
from users_authentik.standin.checkout import PROJECT_FILES, copy_project  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

# The code those tests run: this tree's (tests/conftest.py exports it as PYTHONPATH), as
# `pip install -e .` of a checkout would make it; never another checkout sharing the venv.
CODE = ROOT / "constructs"


def run_main(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`main.py args` on the data directory root, in this process: what it printed and its exit status.

    Most tests check what main() does, not the process it runs in: in process, the worker's jsii
    kernel (Node) is started once and shared, and no Python starts per call. `env` is set for the
    call only. A test of the process itself (a scratch copy's own code, Node absent from PATH, a
    signal, the console script) uses run_main_process."""
    from users_authentik.cli import main

    argv = list(args)
    patch = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20", **(env or {})}
    saved, cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.pop("CDKTF_OUTDIR", None)
    os.environ.update(patch)
    os.chdir(root)  # as the subprocess ran: a relative -C names a directory under root
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv, root=root, prog="main.py")
            except SystemExit as done:  # argparse: --help, --version, usage errors
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
    return subprocess.CompletedProcess(["main.py", *argv], code, out.getvalue(), err.getvalue())


def run_main_process(root: Path, *args: str, env: dict[str, str] | None = None,
                     timeout: float = 120) -> subprocess.CompletedProcess:
    """`python main.py args` as a child process in root (its own Python and, when it synthesizes, Node)."""
    full_env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "18,20", **(env or {})}
    full_env.pop("CDKTF_OUTDIR", None)
    if (root / "constructs").is_dir():  # a scratch copy runs its own code, which a test may change
        full_env["PYTHONPATH"] = os.pathsep.join([str(root / "constructs"), full_env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, str(root / "main.py"), *args], cwd=root,
                          capture_output=True, text=True, env=full_env, timeout=timeout)


def tree_digest(path: Path) -> dict[str, str]:
    """File name -> sha256 of every file under path (empty dict if it does not exist)."""
    if not path.exists():
        return {}
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def module(generated: Path) -> dict[str, Any]:
    """All *.tf.json files of a module merged the way Terraform reads them."""
    merged: dict[str, Any] = {}
    for f in sorted(generated.glob("*.tf.json")):
        for block, body in read_json(f).items():
            if block == "//":
                continue
            if isinstance(body, list):  # import, moved: lists of blocks
                merged.setdefault(block, []).extend(body)
                continue
            target = merged.setdefault(block, {})
            for key, value in body.items():
                if block in ("resource", "data"):  # TYPE -> NAME -> body
                    target.setdefault(key, {}).update(value)
                else:
                    target[key] = value
    return merged


def addresses(generated: Path) -> set[str]:
    """Resource addresses the module would create, expanding for_each over its locals."""
    mod = module(generated)
    local = mod.get("locals", {})
    out = set()
    for prefix, block in (("", "resource"), ("data.", "data")):
        for rtype, named in mod.get(block, {}).items():
            for name, body in named.items():
                each = body.get("for_each")
                if each is None:
                    out.add(f"{prefix}{rtype}.{name}")
                    continue
                assert each.startswith("${local.") and each.endswith("}"), each
                for key in local[each[len("${local."):-1]]:
                    out.add(f"{prefix}{rtype}.{name}[{json.dumps(key, ensure_ascii=False)}]")
    return out
