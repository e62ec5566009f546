"""The stand-in authentik provider and the harness that runs OpenTofu/terraform against it
offline (README.md here): what `plan` runs, and what the tests and bench/engine.py run.
TOOLING, NEVER AUTHENTIK. Its modules need the `plan` extra (tf, grpcio: pyproject.toml)."""
