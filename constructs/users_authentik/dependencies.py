"""The Python packages each command needs (requirements.txt), looked for before any runs.

Started outside the venv, `python3 main.py` would otherwise die wherever the first lazy
import happens: in a check, in the stack's synth, in a child process. One line saying what
to install and run is all a person needs.
"""

from __future__ import annotations

import importlib.util
import sys

# import name -> the requirements.txt package that provides it
CHECKS = {"fastjsonschema": "fastjsonschema", "jsonschema": "jsonschema", "icu": "pyicu-wheels"}
STACK = {"jsii": "jsii", "constructs": "constructs", "cdktf": "cdktf"}  # only to synthesize cdk.tf.json
# synth needs STACK only when cdk.tf.json is rebuilt (pipeline.py reports it then); plan always renders it.
NEEDS = {"check": CHECKS, "diff": CHECKS, "synth": CHECKS, "plan": {**CHECKS, **STACK}}
HINT = ("run `make install` (it sets up .venv with requirements.txt and this package), then `.venv/bin/python main.py`; "
        "or `pip install --require-hashes -r requirements.lock` for this python")


def missing(command: str) -> list[str]:
    """The requirements.txt packages `command` needs that this interpreter cannot import."""
    return [package for module, package in NEEDS.get(command, {}).items() if not _importable(module)]


def _importable(module: str) -> bool:
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def message(packages: list[str]) -> str:
    return (f"main.py: {sys.executable} lacks the Python package{'s' if len(packages) != 1 else ''} "
            f"{', '.join(packages)} (requirements.txt): {HINT}\n")
