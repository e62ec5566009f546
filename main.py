#!/usr/bin/env python3
"""users-authentik: `python3 main.py` turns ./users.json into ./generated/ (see README).

This is also the app `cdktf synth` runs (cdktf.json), so both produce the same files.
"""

import atexit
import os
import sys
from pathlib import Path

# jsii prints an end-of-life banner on old Node majors (a comma-separated list silences
# them); it would otherwise land in every pre-commit run.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# The project's code lives in constructs/users_authentik; constructs/ has no __init__.py,
# so putting it on the path never shadows the `constructs` library.
sys.path.insert(0, str(Path(__file__).resolve().parent / "constructs"))

_exit_code = None  # set once main() has returned, with everything written


@atexit.register
def _exit_without_teardown() -> None:
    # Registered before anything can start cdktf, so it runs after jsii's own exit handler
    # (atexit is last in, first out), which stops Node and removes its temporary files. What
    # is left, the interpreter freeing cdktf's thousands of classes one by one, costs ~45 ms
    # of every run (bench/README.md): skip it. An exception leaves _exit_code None.
    if _exit_code is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_code)


from users_authentik.cli import main  # noqa: E402

if __name__ == "__main__":
    _exit_code = main()
    sys.exit(_exit_code)
