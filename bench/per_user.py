"""Probe for bench.py: the cost of one `main.py` synth inside a running process, repeated.

One whole-process run of main.py differs from the next by tens of milliseconds on a shared
machine; the cost of a few thousand more users drowns in that. This script starts
once, then runs the same pipeline as main.py (parse, check, guard, rows, stack, write;
in-process, as the tests run it) --repeats times and prints each repeat's wall and CPU
time as a JSON line. Started at two sizes, the difference of their best repeats is the
cost of the users between them, free of start-up noise. The first repeat also imports
and compiles what later repeats reuse, so bench.py drops it.

    cd <project checkout> && python3 bench/per_user.py --repeats 5
"""

import argparse
import contextlib
import io
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")

from users_authentik.cli import main  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()
for _ in range(args.repeats):
    # The floor of any per-user work: reading and decoding users.json, nothing else.
    floor, floor_cpu = time.perf_counter(), time.process_time()
    json.loads(Path("users.json").read_text(encoding="utf-8"))
    floor, floor_cpu = time.perf_counter() - floor, time.process_time() - floor_cpu
    out = io.StringIO()
    wall, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = main([])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if status != 0:
        sys.exit(f"per_user.py: main.py exited {status}: {out.getvalue()}")
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "floor_wall_s": floor, "floor_cpu_s": floor_cpu}), flush=True)
