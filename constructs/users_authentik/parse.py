"""Parse: a file's bytes -> Python data, or Problems (never a traceback)."""

from __future__ import annotations

import bisect
import json
import math
import re
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
        return _NotJSON(text, f"{text} is not a JSON number")

    def integer(self, text: str) -> Any:
        # int() of over 4,300 digits raises ValueError (CVE-2020-10735), not JSONDecodeError.
        if len(text.lstrip("-")) > MAX_DIGITS:
            self.not_json = True
            return _NotJSON(text, f"a number of {len(text.lstrip('-'))} digits is longer than any value here")
        return int(text)

    def number(self, text: str) -> Any:
        value = float(text)
        return value if math.isfinite(value) else self.constant(text)  # 1e400 is inf

    def problems(self, data: Any, text: str, file: str) -> list[Problem]:
        if not (self.repeated or self.not_json):
            return []
        problems = []
        lines = _key_lines(text, {key for keys in self.repeated.values() for key in keys})
        for path, node in _walk(data):
            if isinstance(node, _NotJSON):
                problems.append(Problem(
                    file, where(*path), node.problem,
                    "write a number (JSON has no NaN or Infinity, and Authentik ids are whole numbers)"))
            elif isinstance(node, dict) and id(node) in self.repeated:
                for key in self.repeated[id(node)]:
                    line = lines[key]
                    problems.append(Problem(
                        file, where(*path, key) + (f" (line {line})" if line else ""),
                        f'the key "{key}" appears twice in one object; JSON keeps only the last one',
                        f'merge the two "{key}" entries into one, or rename one of them'))
        return problems


class _NotJSON:
    __slots__ = ("text", "problem")

    def __init__(self, text: str, problem: str):
        self.text, self.problem = text, problem


def _walk(data: Any):
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:  # a loop: json.loads reads nesting deeper than Python may recurse
        path, node = stack.pop()
        yield path, node
        if isinstance(node, dict):
            stack.extend((path + (key,), value) for key, value in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((path + (i,), value) for i, value in reversed(list(enumerate(node))))


# What no string may hold, found by one walk after parsing:
# - a lone surrogate ("\ud800"): JSON's escapes allow it, no UTF-8 file can hold it, so
#   writing generated/ fails (anywhere, group attributes included);
# - a control character (C0, DEL, C1: "\n", ESC, U+009B), except inside group attributes,
#   which are the user's own data, passed on as is. That exemption is by exact path
#   (groups.<name>.attributes), never by a key's name: a user named "attributes" is a user.
# Deep nesting is refused too: every later step (the schema check, synth) walks the tree.
# The walk only runs when the text could hold such a string (DEL or C1 raw, or an escape
# other than \" \\ \/) or is deep: searching the text is far cheaper than walking the tree
# (bench/README.md, "Figures behind choices in the code").
_ESCAPE = re.compile(r'\\[^"\\/]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# DEL and C1 may be raw in a JSON string (C0 may not); substring searches for the 33 of them
# beat one character-class search of a non-ASCII text (bench/README.md).
_RAW_CONTROLS = tuple(map(chr, range(0x7f, 0xa0)))
_SURROGATE = re.compile(r"[\ud800-\udfff]")
MAX_DEPTH = 32  # users.json is 4 deep; group attributes get the rest
MAX_DIGITS = 40  # an Authentik id has 10; Python refuses to read ints of over 4,300 digits
FreeForm = tuple[str | None, ...]  # a path; None matches any key there


def _free(path: tuple[str | int, ...], free_form: tuple[FreeForm, ...]) -> bool:
    return any(len(path) == len(form) and all(f is None or f == p for f, p in zip(form, path))
               for form in free_form)


def _strings(data: Any, file: str, free_form: tuple[FreeForm, ...]) -> list[Problem]:
    problems = []
    stack: list[tuple[tuple[str | int, ...], Any, bool]] = [((), data, False)]
    while stack:  # a loop, not recursion: depth is what is being checked
        path, node, free = stack.pop()
        if len(path) > MAX_DEPTH:
            problems.append(Problem(file, where(*path[:MAX_DEPTH]), f"is nested more than {MAX_DEPTH} levels deep",
                                    "flatten it; no setting or attribute needs that depth"))
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    continue
                problems += _text_problems(file, path + (key,), key, "key", free)
                stack.append((path + (key,), value, free or (bool(free_form) and _free(path + (key,), free_form))))
        elif isinstance(node, list):
            stack.extend((path + (i,), value, free) for i, value in enumerate(node))
        elif isinstance(node, str):
            problems += _text_problems(file, path, node, "value", free)
    return problems


def _text_problems(file: str, path: tuple[str | int, ...], text: str, what: str, free: bool) -> list[Problem]:
    if _SURROGATE.search(text):
        return [Problem(file, where(*path), f"the {what} contains a lone surrogate escape (\\ud800 to \\udfff), "
                                            "which is not a character and cannot be written as UTF-8",
                        "remove the \\ud8.. / \\udc.. escape, or write the character itself")]
    if not free and _CONTROL.search(text):
        return [Problem(file, where(*path), f"the {what} contains a control character (a newline, tab, escape or similar)",
                        "remove the \\n, \\t or \\u00.. escape; names, emails and groups are one line of plain text")]
    return []


def _shallow(data: Any) -> bool:
    """No container deeper than MAX_DEPTH (a loop over containers only: cheap enough to run on every file)."""
    level = [data]
    for _ in range(MAX_DEPTH):
        deeper = []
        for node in level:
            for child in (node.values() if type(node) is dict else node):
                if type(child) is dict or type(child) is list:
                    deeper.append(child)
        if not deeper:
            return True
        level = deeper
    return False


def _too_deep(file: str) -> Problem:
    return Problem(file, "(file)", f"is nested more than {MAX_DEPTH} levels deep (too deep to read)",
                   "flatten it; no setting or attribute needs that depth")


def parse_json(text: str, file: str, free_form: tuple[FreeForm, ...] = ()) -> tuple[Any, list[Problem]]:
    """free_form: paths whose contents are the user's own data, where controls are allowed."""
    findings = _Findings()
    try:
        data = json.loads(text, object_pairs_hook=findings.object, parse_constant=findings.constant,
                          parse_float=findings.number, parse_int=findings.integer)
    except json.JSONDecodeError as err:
        return None, [Problem(
            file, f"line {err.lineno}, column {err.colno}",
            f"not valid JSON: {err.msg}",
            "correct the JSON syntax there (a missing comma, quote or brace is the usual cause); "
            "an editor that knows the $schema shows it as you type")]
    except RecursionError:
        return None, [_too_deep(file)]
    problems = findings.problems(data, text, file)
    if findings.not_json:
        return None, problems  # not JSON at all, like a syntax error
    if data is None:
        # `null` is JSON, but None is also "could not be parsed" to the callers.
        return None, [Problem(file, "(top level)", "is null, not an object {…}",
                              f"write {file} as a JSON object, e.g. {{}} (see the README)")]
    # Data with a repeated key or a control character comes back with those problems, so
    # the other checks still run on it and every mistake is reported at once.
    controls = _RAW_CONTROLS if not text.isascii() else ("\x7f",)  # isascii() is O(1)
    suspect = _ESCAPE.search(text) or any(c in text for c in controls)
    if suspect or not _shallow(data):
        problems += _strings(data, file, free_form)
    return data, problems


def load_json(data: bytes, file: str, free_form: tuple[FreeForm, ...] = ()) -> tuple[Any, list[Problem]]:
    """Parse a file's bytes (from the working tree or a git revision); `file` is the name the
    user knows it by (for messages)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        return None, [Problem(file, "(file)", f"cannot be read: {err}", "make it a readable UTF-8 text file")]
    if text.startswith("\ufeff"):  # JSON allows none; json.loads' message is for programmers
        return None, [Problem(file, "(file)", "starts with a byte order mark (BOM, U+FEFF), which JSON does not allow",
                              'save it as UTF-8 without a BOM (in most editors: encoding "UTF-8", not "UTF-8 with BOM")')]
    if "\r" in text:  # as a text-mode read gives it: line numbers count a lone CR as a line
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return parse_json(text, file, free_form)


def _key_lines(text: str, keys: set[str]) -> dict[str, int | None]:
    """For each of `keys`: the line of its second occurrence as a key in the file when it has
    exactly two (else None: the key is a common one, like "email", and the path alone says
    where). One pass over the text whatever the number of keys: a search per key made a
    hostile file (10,000 usernames each written twice) quadratic, minutes of CI."""
    if not keys:
        return {}
    found: dict[str, list[int]] = {key: [] for key in keys}
    # Every string token of valid JSON, in order (quotes inside strings are escaped): matching
    # each one keeps the scan aligned; a token followed by a colon is a key.
    for token in _STRING_TOKEN.finditer(text):
        if token.group(2) is None:
            continue
        raw = token.group(1)
        key = json.loads(f'"{raw}"') if "\\" in raw else raw
        hits = found.get(key)
        if hits is not None and len(hits) < 3:
            hits.append(token.start())
    newlines = [m.start() for m in re.finditer("\n", text)]
    return {key: bisect.bisect_left(newlines, hits[1]) + 1 if len(hits) == 2 else None for key, hits in found.items()}


_STRING_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"\s*(:)?')
