"""`python -m users_authentik` is the `users-authentik` command."""

import sys

from .cli import main

sys.exit(main(prog="users-authentik"))
