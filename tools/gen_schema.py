"""Writes the user and group entries of schemas/users.schema.json from their one declaration,
the model's dataclasses (constructs/users_authentik/model.py, `entry_schema`).

    .venv/bin/python -m tools.gen_schema          # rewrite schemas/users.schema.json
    .venv/bin/python -m tools.gen_schema --check  # exit 1 if the file is not this output

(In a worktree whose package is not the installed one, put `PYTHONPATH=constructs` first.)
Writing the schema also writes its compiled check, users_schema.py (tools.gen_validators).
Only `$defs.user` and `$defs.group` are generated; the rest of the file (the top level, the
`users` and `groups` maps, `offboarding`, `groupName`) is written by hand and kept as it is.
The whole file is written in one layout, so a hand edit anywhere is checked as well: an
object is on one line unless it holds an object or has a `description` or `x-problem`
(a rule with its message reads better one key per line). tests/test_schema_gen.py fails when
the committed file is not this output.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (python tools/gen_schema.py): `tools` is not importable
    sys.exit("tools/gen_schema.py imports tools.gen_validators: run it from the repository root as "
             "`.venv/bin/python -m tools.gen_schema`")

from tools import gen_validators  # noqa: E402
from users_authentik.model import Group, User, entry_schema  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = Path("schemas/users.schema.json")
ENTRIES = {"user": User, "group": Group}  # $defs name -> the model class declaring it


def render(schema: dict[str, Any]) -> str:
    """`schema` (users.schema.json as parsed) with its entries generated, as text."""
    defs = schema["$defs"]
    generated = {**schema, "$defs": {name: entry_schema(ENTRIES[name]) if name in ENTRIES else value
                                     for name, value in defs.items()}}
    missing = ENTRIES.keys() - defs.keys()
    if missing:
        raise SystemExit(f"{OUTPUT} has no $defs {', '.join(sorted(missing))}: add it (any value) where it belongs")
    return layout(generated) + "\n"


def layout(value: Any, indent: int = 0) -> str:
    if isinstance(value, dict) and value and (value.keys() & {"description", "x-problem"}
                                              or any(isinstance(v, dict) and v for v in value.values())):
        pad = "  " * (indent + 1)
        items = [f"{pad}{_one_line(k)}: {layout(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * indent + "}"
    return _one_line(value)


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def main(argv: list[str]) -> int:
    target = ROOT / OUTPUT
    committed = target.read_text(encoding="utf-8")
    text = render(json.loads(committed))
    if argv == ["--check"]:
        if committed != text:
            sys.stderr.write(f"{OUTPUT} is not what tools.gen_schema writes from model.py: run it\n")
            return 1
        return 0
    if argv:
        sys.stderr.write(__doc__)
        return 2
    target.write_text(text, encoding="utf-8")
    (ROOT / gen_validators.output_path("users")).write_text(gen_validators.render("users", ROOT), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
