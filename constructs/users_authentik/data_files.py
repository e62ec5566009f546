"""Files the code reads at run time that are not Python: the JSON Schemas (schemas/*.json)
and the Flux manifests `init` writes (flux/).

A checkout keeps them at its root (its layout is the project's); an installed wheel carries
them inside the package, where pyproject.toml maps them (package-dir). Both are found here.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parents[1]  # constructs/users_authentik -> the checkout's root


def data_dir(name: str) -> Path:
    """`schemas` or `flux`: inside the installed package, else at the checkout's root."""
    packaged = _PACKAGE / name
    return packaged if packaged.is_dir() else _CHECKOUT / name
