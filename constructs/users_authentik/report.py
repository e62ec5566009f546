"""Report: a Result (result.py) or Problems -> text for a person at a terminal, JSON for
machines, GitHub annotations for CI. The one place that words what synth, check and plan
found; diff words its changes itself (diff.py) and its problems here."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from . import dependencies
from .parse import MAX_DEPTH
from .problems import Problem
from .result import Failure, Result
from .synth import STACK_FILE, UnpinnedLibraries
from .text import counted, visible


def listed(problems: list[Problem]) -> str:
    """Every problem, sorted, each as two lines (what, then the fix)."""
    return "".join(f"{p}\n" for p in sorted(problems))


def format_problems(problems: list[Problem], outdir_name: str = "generated/") -> str:
    return listed(problems) + f"{counted(len(problems), 'problem')} found; nothing was written to {outdir_name}.\n"


def base_invalid(ref: str, problems: list[Problem]) -> str:
    """diff: the version at ref cannot be read as users."""
    return (listed(problems) + f"users.json at {ref} is not valid ({counted(len(problems), 'problem')} above), "
            "so there is nothing to compare with. Compare with another revision "
            "(--base <ref>), or read the raw change: git diff " + ref + " -- users.json\n")


def base_noted(ref: str, problems: list[Problem]) -> str:
    """diff: the version at ref has problems, and is compared all the same."""
    return (listed(problems) + f"note: users.json at {ref} has {counted(len(problems), 'problem')} (above); it is "
            "compared as committed, as the removal guard compares with it\n")


def show(result: Result, fmt: str = "text", *, notes_to_stdout: bool = False,
         out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Write what `result` says in fmt (text, json or github); its exit status.
    notes_to_stdout: `cdktf synth` shows every stderr line of the app as an [ERROR]."""
    out, err = out or sys.stdout, err or sys.stderr
    problems = list(result.problems)
    if fmt in ("json", "github"):
        render = problems_json if fmt == "json" else annotations
        out.write(render(problems, result.root, list(result.notes)))
        if fmt == "github":  # the log keeps the text too
            err.write(format_problems(problems) if problems else "")
            if not problems:
                out.write(ok_line(result) + "\n")
        return result.status
    (out if notes_to_stdout else err).writelines(
        visible(note) + "\n" for note in result.guard_notes + result.schema_notes + result.settings_notes)
    if problems:
        err.write(format_problems(problems))
    elif result.failure is not None:
        err.write(failure_text(result.failure))
    elif result.command == "check":
        out.write(ok_line(result) + "\n")
    elif result.written is not None:
        users, groups = result.counts
        out.write(f"generated/: {', '.join(result.written) + ' updated' if result.written else 'up to date'} "
                  f"({counted(users, 'user')}, {counted(groups, 'group')})\n")
    return result.status


def ok_line(result: Result) -> str:
    users, groups = result.counts
    return f"users.json: {counted(users, 'user')}, {counted(groups, 'group')}: OK"


def failure_text(failure: Failure) -> str:
    if failure.missing is not None:
        return dependencies.message([failure.missing])
    if failure.error is not None:  # an unpinned library says its own fix; else Node is the usual cause
        hint = "" if isinstance(failure.error, UnpinnedLibraries) else " (is Node.js 20 on PATH?)"
        return (f"{type(failure.error).__name__}: {failure.error}\nsynthesizing generated/{STACK_FILE} "
                f"with cdktf failed{hint}; nothing was written to generated/.\n")
    return unwritten(list(failure.unwritten), failure.half_written)


def unwritten(problems: list[Problem], half_written: bool) -> str:
    """Why generated/ could not be written (module_dir.WriteFailed)."""
    if not half_written:
        return format_problems(problems)
    return listed(problems) + ("generated/ may be half-written; the next `python3 main.py` completes "
                               "the interrupted write (until then `check` says so).\n")


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
    path: list = []  # a list: a tuple per level made deep nesting quadratic (gigabytes at 100,000)

    def note(last: Any) -> None:
        # Problems name no place deeper than parse.MAX_DEPTH: deeper keys are not needed.
        if len(path) <= MAX_DEPTH:
            out.setdefault((*path, last), line)
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
                note(key)
                expect_key = False
            i = j
        elif c in "{[":
            if stack:
                path.append(stack[-1][1])
            stack.append([c, 0 if c == "[" else None])
            expect_key = c == "{"
            if c == "[":
                note(0)
        elif c in "}]":
            if stack:
                stack.pop()
                if path:
                    path.pop()
        elif c == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
                note(stack[-1][1])
            else:
                expect_key = True
        i += 1
    return out
