"""Report: Problems -> text for a person at a terminal."""

from __future__ import annotations

from .problems import Problem


def format_problems(problems: list[Problem], outdir_name: str = "generated/") -> str:
    lines = [str(p) for p in sorted(problems)]
    count = len(problems)
    lines.append(f"{count} problem{'s' if count != 1 else ''} found; nothing was written to {outdir_name}.")
    return "\n".join(lines) + "\n"
