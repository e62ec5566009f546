"""Parse: bytes on disk -> Python data, or Problems (never a traceback)."""

from __future__ import annotations

import json
import re
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


# A control character can only reach a JSON string through an escape (\n, \t, \u0000-\u001f).
# Python's `$` matches before a final newline, so the schema's patterns would pass "bob\n";
# looking at the text first keeps the walk off the common path.
_ESCAPED_CONTROL = re.compile(r"\\[nrtbf]|\\u00[01][0-9a-fA-F]|\\u007[fF]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FREE_FORM = "attributes"  # objects whose contents are the user's own data, passed on as is


def _control_characters(node: Any, file: str, path: tuple[str | int, ...] = ()) -> list[Problem]:
    problems = []
    if isinstance(node, dict):
        for key, value in node.items():
            if _CONTROL.search(key):
                problems.append(_control_problem(file, path + (key,), "key"))
            if key != FREE_FORM:
                problems += _control_characters(value, file, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            problems += _control_characters(value, file, path + (i,))
    elif isinstance(node, str) and _CONTROL.search(node):
        problems.append(_control_problem(file, path, "value"))
    return problems


def _control_problem(file: str, path: tuple[str | int, ...], what: str) -> Problem:
    return Problem(file, where(*path), f"the {what} contains a control character (a newline, tab or similar)",
                   "remove the \\n, \\t or \\u00.. escape; names, emails and groups are one line of plain text")


def parse_json(text: str, file: str) -> tuple[Any, list[Problem]]:
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
        # The data comes back with these problems so the other checks still run on it.
        return data, (_control_characters(data, file) if _ESCAPED_CONTROL.search(text) else [])
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
