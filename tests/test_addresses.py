"""Resource addresses are where a person's passkeys live in the state: a refactor that
renames one destroys and re-creates the account. These snapshots make that loud."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import ROOT, addresses, run_main

SNAPSHOT = Path(__file__).parent / "snapshots" / "addresses.txt"
FIXTURE = Path(__file__).parent / "fixtures" / "addresses-users.json"


def test_addresses_match_the_snapshot(project: Path) -> None:
    shutil.copy(FIXTURE, project / "users.json")
    assert run_main(project).returncode == 0
    expected = set(SNAPSHOT.read_text(encoding="utf-8").splitlines())
    assert addresses(project / "generated") == expected, (
        "resource addresses changed. Existing users would be destroyed and re-created, losing "
        "their passkeys. Keep the old addresses (or add moved blocks), then update "
        f"{SNAPSHOT.relative_to(ROOT)} deliberately.")


def test_committed_module_addresses_users_by_username() -> None:
    found = addresses(ROOT / "generated")
    assert 'authentik_user.users["stefan"]' in found
    assert 'authentik_group.groups["admins"]' in found
