"""Parse: bytes on disk -> Python data, or Problems (never a traceback)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from .problems import Problem, where


class _Findings:
    """What json.loads let through that JSON users must not write, noted by its hooks while
    parsing and located afterwards (a hook sees an object, not where it is)."""

    def __init__(self) -> None:
        # id of an object in the parsed tree (alive as long as the tree) -> its repeated keys
        self.repeated: dict[int, list[str]] = {}
        self.not_json = False  # a NaN, Infinity or 1e400 was met (each left as a _NotJSON)

    def object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        # json.loads keeps the last of two equal keys silently; a second "stefan" entry
        # would quietly replace the first one, so a repeat is a problem. dict() runs in C:
        # a repeated key leaves it shorter than the pairs, the only case that loops here.
        obj = dict(pairs)
        if len(obj) != len(pairs):
            seen: set[str] = set()
            keys = [k for k, _ in pairs if k in seen or seen.add(k)]
            self.repeated[id(obj)] = list(dict.fromkeys(keys))
        return obj

    def constant(self, text: str) -> Any:
        # NaN, Infinity and -Infinity are not JSON; Python's json accepts them.
        self.not_json = True
        return _NotJSON(text)

    def number(self, text: str) -> Any:
        value = float(text)
        return value if math.isfinite(value) else self.constant(text)  # 1e400 is inf

    def problems(self, data: Any, text: str, file: str) -> list[Problem]:
        if not (self.repeated or self.not_json):
            return []
        problems = []
        for path, node in _walk(data):
            if isinstance(node, _NotJSON):
                problems.append(Problem(
                    file, where(*path), f"{node.text} is not a JSON number",
                    "write a number (JSON has no NaN or Infinity, and Authentik ids are whole numbers)"))
            elif isinstance(node, dict) and id(node) in self.repeated:
                for key in self.repeated[id(node)]:
                    line = _line_of_key(text, key)
                    problems.append(Problem(
                        file, where(*path, key) + (f" (line {line})" if line else ""),
                        f'the key "{key}" appears twice in one object; JSON keeps only the last one',
                        f'merge the two "{key}" entries into one, or rename one of them'))
        return problems


class _NotJSON:
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _walk(node: Any, path: tuple[str | int, ...] = ()):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, path + (i,))


# A control character reaches a JSON string through an escape (\n, \t, \u0000-\u001f,
# \u007f), or raw for DEL (0x7f), which JSON allows unescaped. Python's `$` matches before a
# final newline, so the schema's patterns would pass "bob\n". Looking at the text first
# keeps the walk off the common path (a regex with a character class at the top would
# scan 3 MB in ~10 ms; these two take under 1 ms).
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
    findings = _Findings()
    try:
        data = json.loads(text, object_pairs_hook=findings.object,
                          parse_constant=findings.constant, parse_float=findings.number)
    except json.JSONDecodeError as err:
        return None, [Problem(
            file, f"line {err.lineno}, column {err.colno}",
            f"not valid JSON: {err.msg}",
            "correct the JSON syntax there (a missing comma, quote or brace is the usual cause); "
            "an editor that knows the $schema shows it as you type")]
    problems = findings.problems(data, text, file)
    if findings.not_json:
        return None, problems  # not JSON at all, like a syntax error
    # Data with a repeated key or a control character comes back with those problems, so
    # the other checks still run on it and every mistake is reported at once.
    suspect = "\x7f" in text or _ESCAPED_CONTROL.search(text)
    return data, problems + (_control_characters(data, file) if suspect else [])


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
    """The line of the second `"key":`, when the file has exactly two (else the path alone
    says where: the key is a common one, like "email")."""
    hits = [m.start() for m in re.finditer(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:", text)]
    return text.count("\n", 0, hits[1]) + 1 if len(hits) == 2 else None
