"""Parse: bytes on disk -> Python data, or Problems (never a traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .problems import Problem, where


class _DuplicateKey(ValueError):
    pass


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys silently; a second "stefan" entry
    # would quietly replace the first one, so duplicates are an error.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def parse_json(text: str, file: str) -> tuple[Any, list[Problem]]:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates), []
    except _DuplicateKey as dup:
        key = dup.args[0]
        line = _line_of_key(text, key)
        return None, [Problem(
            file, f"line {line}" if line else where(key),
            f'the key "{key}" appears twice in one object; JSON keeps only the last one',
            f'merge the two "{key}" entries into one, or rename one of them')]
    except json.JSONDecodeError as err:
        return None, [Problem(
            file, f"line {err.lineno}, column {err.colno}",
            f"not valid JSON: {err.msg}",
            "correct the JSON syntax there (a missing comma, quote or brace is the usual cause); "
            "an editor that knows the $schema shows it as you type")]


def load_json(path: Path, file: str) -> tuple[Any, list[Problem]]:
    """Read and parse `path`; `file` is the name the user knows it by (for messages)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(file, "(file)", f"not found at {path}",
                              f"create {file} (see the README for its format) or run from the repo root")]
    except (OSError, UnicodeDecodeError) as err:
        return None, [Problem(file, "(file)", f"cannot be read: {err}",
                              "make it a readable UTF-8 text file")]
    return parse_json(text, file)


def _line_of_key(text: str, key: str) -> int | None:
    needle = json.dumps(key) + ":"
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line.replace('": ', '":')]
    return hits[-1] if len(hits) > 1 else None
