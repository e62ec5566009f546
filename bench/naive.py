"""Reference for bench.py: the obvious CDKTF design, one construct per user and group.

Run in a project checkout (cwd) as `python3 <this file>`. It does the same parsing and
checks as main.py, then builds the resources with the project's own binding classes
(users_authentik.binding) and literal attributes, so every row crosses jsii, and writes
generated-naive/cdk.tf.json. It is what synth.py avoids; bench.py measures the difference.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
ROOT = Path.cwd()

from users_authentik.loading import read_folder, validate  # noqa: E402
from users_authentik.report import format_problems  # noqa: E402

OUTDIR = ROOT / "generated-naive"


def logical_id(prefix: str, name: str, taken: set[str]) -> str:
    base = prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)
    out, n = base, 1
    while out in taken:
        n += 1
        out = f"{base}_{n}"
    taken.add(out)
    return out


def main() -> int:
    loaded = validate(read_folder(ROOT))
    if loaded.problems:
        sys.stderr.write(format_problems(list(loaded.problems)))
        return 1
    roster, settings = loaded.roster, loaded.settings

    from users_authentik.binding import DataGroup, DataGroupConfig, Group, GroupConfig, User, UserConfig
    from users_authentik.cdk import App, AuthentikProvider, TerraformStack

    app = App()
    stack = TerraformStack(app, "users-authentik")
    AuthentikProvider(stack, "authentik", version=settings.provider.version)
    superusers = DataGroup(stack, "superusers", DataGroupConfig(
        name=settings.users.superuser_group, include_users=False))
    taken: set[str] = set()
    group_id = {}
    for group in roster.groups:
        resource = Group(stack, logical_id("group_", group.name, taken),
                         GroupConfig(name=group.name, attributes=group.attributes))
        group_id[group.name] = resource.ref("id")
    for user in roster.users:
        User(stack, logical_id("user_", user.username, taken), UserConfig(
            username=user.username, name=user.name, email=user.email, is_active=user.active,
            path=user.path, type="internal",
            groups=[group_id[g] for g in user.groups] + ([superusers.ref("id")] if user.is_admin else [])))
    doc = stack.to_terraform()
    doc.pop("//", None)
    OUTDIR.mkdir(exist_ok=True)
    (OUTDIR / "cdk.tf.json").write_text(
        json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"generated-naive/: {len(roster.users)} users, {len(roster.groups)} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
