"""Time terraform steps on a module against the stand-in provider (TEST TOOLING).

    python -m users_authentik.standin.timing [MODULE_DIR] [--runs N]

Prints the median seconds of init, validate, plan (-out), show -json, apply (saved plan),
a second plan and destroy, each in a fresh scratch workspace per run.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

from .harness import TerraformRun, find_cli
from .serve import install_standin_provider

DEFAULT_MODULE = Path(__file__).resolve().parent / "modules" / "small"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", nargs="?", type=Path, default=DEFAULT_MODULE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binary = find_cli()
    if binary is None:
        raise SystemExit("neither terraform nor tofu on PATH")
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = install_standin_provider(Path(tmp) / "provider", binary=binary)
        for i in range(args.runs):
            run = TerraformRun(Path(tmp) / f"run{i}", env, binary, args.module)

            def timed(step: str, action: Callable[[], object]) -> None:
                start = time.perf_counter()
                action()
                times.setdefault(step, []).append(time.perf_counter() - start)

            timed("init", run.init)
            timed("validate", run.validate)
            timed("plan", lambda: run.run("plan", "-input=false", "-no-color", "-out=tfplan"))
            timed("show -json", lambda: run.show_json("tfplan"))
            timed("apply", lambda: run.apply("tfplan"))
            timed("plan again", lambda: run.run("plan", "-input=false", "-no-color", "-detailed-exitcode"))
            timed("destroy", run.destroy)
    print(f"{binary} on {args.module}, median of {args.runs}:")
    for step, values in times.items():
        print(f"  {step:<11} {statistics.median(values):6.2f} s")


if __name__ == "__main__":
    main()
