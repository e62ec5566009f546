"""users-authentik: users.json -> validated model -> CDKTF constructs -> Terraform JSON.

This package lives in `constructs/users_authentik/` and is installed from there
(pyproject.toml, package-dir). `constructs/` itself has no `__init__.py` and is never put
on sys.path as a package, so `import constructs` finds the `constructs` library.
"""

__version__ = "0.1.0"  # pyproject.toml reads it; `users-authentik --version` prints it
