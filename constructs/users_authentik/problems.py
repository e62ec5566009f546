"""Errors as values: every check returns Problems; the report prints them all at once."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from .text import visible

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # used with fullmatch


def where(*path: str | int) -> str:
    """A readable location such as `users.stefan.email` or `users["a.b"].groups[1]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{_quote(part)}]"
    return out or "(top level)"


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # escapes quotes and control characters


@dataclass(frozen=True, order=True)
class Problem:
    """One user mistake: which file, where in it, what is wrong, how to fix it."""

    file: str
    location: str
    problem: str
    fix: str

    def __str__(self) -> str:
        # Every field may quote user text: an escape sequence in an email must not clear the
        # screen or print a fake line, so controls and bidi overrides are shown as escapes.
        return (f"{visible(self.file)}: {visible(self.location)}: {visible(self.problem)}\n"
                f"    fix: {visible(self.fix)}")

