"""The README's promises that can be checked offline: its two commands are the ones the
Makefile and CI run, and every relative link in the docs leads to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md",
        ROOT / "schemas" / "vendor" / "README.md", ROOT / "constructs" / "users_authentik" / "standin" / "README.md"]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


def test_readme_quick_start_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["make synth", "make test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^synth: .*\n\t\$\(BIN\)/python main\.py$", makefile, re.M)
    assert re.search(r"^test: .*\n\t\$\(BIN\)/python -m pytest", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


@pytest.mark.parametrize("doc", [d for d in DOCS if d.exists()], ids=lambda d: str(d.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    broken = [target for target, _ in LINK.findall(doc.read_text())
              if not target.startswith(("http://", "https://", "mailto:"))
              and not (doc.parent / target).exists()]
    assert broken == []
