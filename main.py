#!/usr/bin/env python3
"""users-authentik: `python3 main.py` turns ./users.json into ./generated/ (see README).

This is also the app `cdktf synth` runs (cdktf.json), so both produce the same files.
"""

import os
import sys
from pathlib import Path

# jsii prints an end-of-life banner on old Node majors (a comma-separated list silences
# them); it would otherwise land in every pre-commit run.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
# The project's code lives in constructs/users_authentik; constructs/ has no __init__.py,
# so putting it on the path never shadows the `constructs` library.
sys.path.insert(0, str(Path(__file__).resolve().parent / "constructs"))

from users_authentik.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
