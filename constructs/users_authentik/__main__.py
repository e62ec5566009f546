"""`python -m users_authentik` is the `users-authentik` command."""

import sys

from .cli import console

sys.exit(console(prog="users-authentik"))
