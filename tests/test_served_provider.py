"""serve.ServedProvider, the one stand-in process that `plan` and each test worker serve: what it
may import (no engine needed)."""

from __future__ import annotations

import json
from pathlib import Path

from users_authentik.standin.harness import REATTACH_ENV
from users_authentik.standin.serve import ServedProvider


def socket_of(env: dict[str, str]) -> Path:
    [entry, *_] = json.loads(env[REATTACH_ENV]).values()
    return Path(entry["Addr"]["String"])


def test_served_provider_runs_no_module_from_the_current_directory(tmp_path: Path, monkeypatch) -> None:
    """A reviewer runs `users-authentik plan` in a pull request's checkout: a `uuid.py` (or
    `grpc/`, `tf/` ...) committed there must not be what the served stand-in imports."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    ran = tmp_path / "the checkout's uuid.py ran"
    (checkout / "uuid.py").write_text(
        "import pathlib, sys\n"
        f"pathlib.Path({str(ran)!r}).write_text('ran')\n"
        # then hand over to the real module, so that the provider still serves
        f"sys.path[:] = [p for p in sys.path if p not in ('', {str(checkout)!r})]\n"
        "del sys.modules['uuid']\n"
        "import uuid as real\n"
        "sys.modules['uuid'] = real\n")
    monkeypatch.chdir(checkout)
    with ServedProvider(tmp_path / "served") as served:
        assert socket_of(served.env).exists()
    assert not ran.exists()
