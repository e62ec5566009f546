#!/usr/bin/env python3
"""users-authentik in a checkout: `python3 main.py [COMMAND]` is `users-authentik [COMMAND]`
(README), and this is the app `cdktf synth` runs (cdktf.json), so both produce the same files.
The package is installed from this checkout (`make install`: pip install -e .).
"""

import sys

try:
    from users_authentik.cli import console
except ModuleNotFoundError as gone:  # not installed for this python: one line, not a traceback
    sys.stderr.write(f"main.py: {sys.executable} cannot import {gone.name} (the users-authentik package or "
                     "a requirement of it): run `make install`, then `.venv/bin/python main.py`\n")
    sys.exit(2)

if __name__ == "__main__":
    sys.exit(console())
