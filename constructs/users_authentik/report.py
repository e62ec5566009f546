"""Report: Problems -> text for a person at a terminal."""

from __future__ import annotations

from .problems import Problem


def counted(n: int, noun: str) -> str:
    """"1 user", "2 users": every count a person reads."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def format_problems(problems: list[Problem], outdir_name: str = "generated/") -> str:
    lines = [str(p) for p in sorted(problems)]
    count = len(problems)
    lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was written to {outdir_name}.")
    return "\n".join(lines) + "\n"
