"""users-authentik: users.json -> validated model -> CDKTF constructs -> Terraform JSON.

This package lives in `constructs/users_authentik/` and is imported with `constructs/` on
sys.path. `constructs/` itself has no `__init__.py`, so `import constructs` still finds the
`constructs` library (a regular package wins over a namespace directory).
"""
