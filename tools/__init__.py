"""The generators of the committed code and schema entries, run from the repository root as
modules (`.venv/bin/python -m tools.gen_schema`), so one can import another (tools/README.md)."""
