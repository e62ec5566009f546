#!/usr/bin/env python3
"""users-authentik in a checkout: `python3 main.py [COMMAND]` is `users-authentik [COMMAND]`
(README), and this is the app `cdktf synth` runs (cdktf.json), so both produce the same files.
The package is installed from this checkout (`make setup`: pip install -e .).
"""

import sys

from users_authentik.cli import main

if __name__ == "__main__":
    sys.exit(main())
