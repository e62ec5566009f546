"""Report: Problems -> text for a person at a terminal, JSON for machines, GitHub annotations for CI."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .problems import Problem
from .text import visible


def counted(n: int, noun: str) -> str:
    """"1 user", "2 users": every count a person reads."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_problems(problems: list[Problem], outdir_name: str = "generated/") -> str:
    lines = [str(p) for p in sorted(problems)]
    count = len(problems)
    lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was written to {outdir_name}.")
    return "\n".join(lines) + "\n"


# --- for machines and CI logs -------------------------------------------------------------

def as_dict(problem: Problem, line: int | None = None) -> dict[str, Any]:
    return {"file": problem.file, "location": problem.location, "line": line,
            "problem": problem.problem, "fix": problem.fix}


def problems_json(problems: list[Problem], root: Path, notes: list[str] = ()) -> str:
    """`--format json`: {"ok", "problems": [{file, location, line, problem, fix}], "notes"}."""
    lines = Lines(root)
    return json.dumps({"ok": not problems, "problems": [as_dict(p, lines.of(p)) for p in sorted(problems)],
                       "notes": list(notes)}, indent=2, ensure_ascii=False) + "\n"


def annotations(problems: list[Problem], root: Path, notes: list[str] = ()) -> str:
    """`--format github`: one workflow command per problem, `::error file=…,line=…::…`, so
    GitHub shows each on the line of users.json it is about; notes as `::notice::`."""
    lines = Lines(root)
    out = []
    for p in sorted(problems):
        line = lines.of(p)
        # GitHub reads file= from the workspace, the directory the job runs in: DIR/users.json for -C DIR.
        file = os.path.relpath(root / _bare(p.file)) if _bare(p.file) in ("users.json", "settings.json") else _bare(p.file)
        props = f"file={_prop(file)}" + (f",line={line}" if line else "") + f",title={_prop(p.location)}"
        text = f"{visible(p.location)}: {visible(p.problem)}\nfix: {visible(p.fix)}"
        out.append(f"::error {props}::{_data(text)}")
    out += [f"::notice::{_data(visible(note))}" for note in notes]
    return "".join(line + "\n" for line in out)


def _bare(file: str) -> str:
    return file.split(" at ", 1)[0]  # "users.json at HEAD" is still about users.json


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


class Lines:
    """The line of users.json / settings.json a Problem's location points at (None if the
    file or the place is not found): the location read back into keys and indexes, and the
    file scanned for where that key or item starts."""

    def __init__(self, root: Path):
        self.root = root
        self._maps: dict[str, dict[tuple, int]] = {}

    def of(self, problem: Problem) -> int | None:
        if problem.location.startswith("line "):  # a syntax error names its own line
            head = problem.location.split(",")[0][5:]
            return int(head) if head.isdigit() else None
        name = _bare(problem.file)
        if name not in ("users.json", "settings.json") or " at " in problem.file:
            return None
        if name not in self._maps:
            self._maps[name] = _key_lines(self.root / name)
        path = _path_of(problem.location)
        while path:  # the nearest enclosing place that exists
            if path in self._maps[name]:
                return self._maps[name][path]
            path = path[:-1]
        return None


_LOCATION = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_-]*)|\[([0-9]+)\]|\[("(?:[^"\\]|\\.)*")\]')


def _path_of(location: str) -> tuple:
    location = location.split(" (line ")[0]
    path, at = [], 0
    while at < len(location):
        m = _LOCATION.match(location, at)
        if m is None:
            break
        path.append(m.group(1) if m.group(1) else int(m.group(2)) if m.group(2) else json.loads(m.group(3)))
        at = m.end()
    return tuple(path)


def _key_lines(file: Path) -> dict[tuple, int]:
    """path -> line of every key and array item of a JSON file (first occurrence)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    out: dict[tuple, int] = {}
    stack: list[list] = []  # [container kind, current key or index, path]
    path: tuple = ()
    line, i, n = 1, 0, len(text)
    expect_key = False
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if stack and stack[-1][0] == "{" and expect_key:
                try:
                    key = json.loads(text[i:j + 1])
                except ValueError:
                    key = None
                stack[-1][1] = key
                out.setdefault(path + (key,), line)
                expect_key = False
            i = j
        elif c in "{[":
            if stack:
                path = path + (stack[-1][1],)
            stack.append([c, 0 if c == "[" else None])
            expect_key = c == "{"
            if c == "[":
                out.setdefault(path + (0,), line)
        elif c in "}]":
            if stack:
                stack.pop()
                path = path[:-1] if stack else ()
        elif c == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
                out.setdefault(path + (stack[-1][1],), line)
            else:
                expect_key = True
        i += 1
    return out
