"""What in the git repository around the data directory could change what is applied, or
what runs on a reviewer's machine, while users.json and generated/ look right. Each is a
Problem for synth, check and plan (docs/threat-model.md):

- git attributes that transform content (`text`, `eol`, `crlf`, `ident`, `filter`,
  `working-tree-encoding`) on generated/'s files, users.json or settings.json: git then
  commits other bytes than the working tree synth wrote and checked, and Flux's
  source-controller delivers the committed bytes as they are. A `filter` also runs a
  command. Any .gitattributes from the repository's top down counts (git check-attr).
- a Flux `.sourceignore` (gitignore syntax; source-controller reads one in every directory,
  each for the paths below it) whose patterns drop generated/, its files, users.json or
  settings.json from the artifact: tofu-controller would plan without them, i.e. destroy
  what they declared.
- anything committed under `.tools/` of the checkout this code runs from: `make setup`
  builds OpenTofu there and `plan` runs it; a committed file replaces that build at checkout.
- a submodule (gitlink) at users.json, settings.json or generated/ (an empty directory in a
  checkout, or another repository's files), and a tracked path that differs from one of them
  only in case (`Users.json`): on a case-insensitive file system the reviewer's checkout
  holds one of the two, CI and Flux read the other.
- attributes that hide users.json or settings.json from review: `linguist-generated`
  (GitHub collapses the diff), `-diff`/`binary` (GitHub and git show it as binary). A
  `diff=<driver>` passes: a PR cannot define the driver, the reviewer's own config does.

Git is run by gitref.py; gitignore patterns are evaluated by pathspec, imported only when
there is a .sourceignore to read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path, PurePosixPath
from typing import Iterable

from . import gitref
from .problems import Problem

CHECKOUT = Path(__file__).resolve().parents[2]  # the checkout this code runs from
DATA_FILES = ("users.json", "settings.json")
GENERATED = "generated"
SOURCEIGNORE = ".sourceignore"
TOOLS = ".tools"
# Attributes that make the committed bytes differ from the working tree's (or run a command).
# Unset (`-text`, `-crlf`) is the opposite, and harmless; `diff`/`merge` drivers never change
# what is stored, and this project's reads never run them (gitref.py).
_TRANSFORMS = ("text", "eol", "crlf", "ident", "filter", "working-tree-encoding")
# On the files people review (DATA_FILES): attributes that change how a diff shows them.
_HIDES = {("diff", "unset"), ("linguist-generated", "set"), ("linguist-generated", "true")}
GITLINK = "160000"


def problems(root: Path, module_files: Iterable[str]) -> list[Problem]:
    """Every Problem of the repository around the data directory root; none outside git."""
    protected = [*DATA_FILES, *(f"{GENERATED}/{name}" for name in module_files)]
    top = gitref.top(root)
    found = _sourceignore_problems(root, top, protected)
    if top is not None:
        found += linked_dir_problems(root) + _attribute_problems(root, protected) + _index_problems(root)
    return found + tools_problems(CHECKOUT)


def linked_dir_problems(root: Path) -> list[Problem]:
    """The data directory, or one above it inside the repository, as a symbolic link: git
    runs in the directory it resolves to, so the removal guard and diff would read another
    directory's users.json at the base than the one the change replaces (and deletes)."""
    here = Path(os.path.abspath(root))  # not resolve(): the links are what is looked for
    links = []
    for folder in (here, *here.parents):
        if (folder / ".git").exists() and not (folder.is_symlink() and _inside_a_repository(folder)):
            # the repository's top, as the path spells it (a link to the top, say apps/users -> ..,
            # is a link inside the repository: it is flagged, and the walk goes on)
            return [Problem(link.relative_to(folder).as_posix(), "(directory)",
                            f"is a symbolic link (to {json.dumps(os.readlink(link))}), not a directory: git "
                            "reads the directory it points to, so the removal guard would compare another "
                            "directory's users.json, not the one this change replaces",
                            "restore it as a plain directory in git (mode 040000) with its own "
                            "users.json, settings.json and generated/")
                    for link in links]
        if folder.is_symlink():
            links.append(folder)
    return []  # above the repository's top (e.g. /home -> /data/home): not the change's


def _inside_a_repository(folder: Path) -> bool:
    return any((above / ".git").exists() for above in folder.parents)


def _index_problems(root: Path) -> list[Problem]:
    names = {name.casefold(): name for name in (*DATA_FILES, GENERATED)}
    out = []
    for mode, path in gitref.staged(root, list(names.values())):
        head = path.split("/", 1)[0]
        own = names.get(head.casefold())
        if own is None:
            continue
        if head != own:
            out.append(Problem(path, "(git)", f"differs from {own} only in case: on a case-insensitive file "
                               "system (macOS, Windows) a checkout holds one of the two, and a reviewer's "
                               f"diff and plan may read this one while CI and Flux read {own}",
                               f"remove it from git (`git rm --cached -- '{path}'`) and commit"))
        elif mode == GITLINK:
            out.append(Problem(path, "(git)", "is a submodule (a gitlink): a checkout has an empty directory "
                               "there, or another repository's files, not what synth checked and wrote",
                               f"remove it (`git rm --cached -- '{path}'`, and its .gitmodules entry), "
                               "then commit the plain file(s) synth writes"))
    return out


def _attribute_problems(root: Path, protected: list[str]) -> list[Problem]:
    out = []
    for path, attribute, value in gitref.attributes(root, protected):
        if path in DATA_FILES and (attribute, value) in _HIDES:
            setting = {"set": attribute, "unset": f"-{attribute}"}.get(value, f"{attribute}={value}")
            out.append(Problem(
                path, f"(git attribute {setting})",
                "a git attribute hides this file's changes from review (GitHub collapses a "
                "linguist-generated file's diff, and shows a -diff one as binary): it is the file "
                "reviewers read",
                f"remove `{setting}` for this path from .gitattributes (`binary` implies -diff)"))
            continue
        if attribute not in _TRANSFORMS or value in ("unset", "unspecified"):
            continue
        setting = attribute if value == "set" else f"{attribute}={value}"
        runs = " and runs the filter's command" if attribute == "filter" else ""
        out.append(Problem(
            path, f"(git attribute {setting})",
            f"a git attribute transforms this file between the working tree and the commit{runs}: "
            "git would commit other bytes than synth wrote and checked, and Flux applies the "
            "committed bytes",
            f"remove `{setting}` for this path from .gitattributes (in this directory or any above "
            f"it; also .git/info/attributes, core.attributesFile); `git check-attr -a -- {path}` "
            "shows what is set"))
    return out


def _sourceignore_problems(root: Path, repo_top: Path | None, protected: list[str]) -> list[Problem]:
    """.sourceignore files that can match a protected path: those in root and each directory
    above it up to the repository's top (root alone outside git), and in generated/."""
    top = (repo_top or root).resolve()
    here = root.resolve()
    try:
        below = here.relative_to(top)
    except ValueError:
        top, below = here, PurePosixPath()
    dirs = [PurePosixPath(*below.parts[:i]) for i in range(len(below.parts) + 1)]
    dirs.append(PurePosixPath(*below.parts, GENERATED))
    wanted = [PurePosixPath(*below.parts, name) for name in (GENERATED, *protected)]
    out = []
    for domain in dirs:
        file = top / domain / SOURCEIGNORE
        if not file.is_file():
            continue
        label = (domain / SOURCEIGNORE).as_posix()
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            out.append(Problem(label, "(file)", f"cannot be read ({err}), so what it drops from Flux's "
                               "artifact is unknown", "make it a readable UTF-8 text file, or delete it"))
            continue
        out += ignore_problems(text, label, domain, wanted, top=below)
    return out


def ignore_problems(text: str, label: str, domain: PurePosixPath, wanted: list[PurePosixPath], *,
                    top: PurePosixPath) -> list[Problem]:
    """Problems for each gitignore pattern in text (a .sourceignore in domain, or a
    GitRepository's spec.ignore with domain the repository's top) that matches a wanted
    path or a directory above it. Each pattern counts alone: a later `!` cannot be relied
    on to re-include a path (git, and Flux's walk, never look inside an excluded directory)."""
    from pathspec import GitIgnoreSpec  # here: most repositories have no .sourceignore

    out = []
    for number, line in enumerate(text.splitlines(), 1):
        spec = GitIgnoreSpec.from_lines([line])
        if not spec.patterns or spec.patterns[0].include is not True:
            continue  # blank, a comment, or a negation
        hits = []
        for path in wanted:
            try:
                rel = path.relative_to(domain)
            except ValueError:
                continue
            if not rel.parts:
                continue  # generated/ itself, seen from its own .sourceignore: its files are checked
            candidates = [f"{PurePosixPath(*rel.parts[:i]).as_posix()}/" for i in range(1, len(rel.parts))]
            candidates.append(rel.as_posix() + ("/" if path.name == GENERATED else ""))
            if any(spec.match_file(c) for c in candidates):
                hits.append(_from(path, top) + ("/" if path.name == GENERATED else ""))
        if hits:
            out.append(Problem(
                label, f"line {number} ({line.strip()})",
                f"drops {', '.join(hits)} from the artifact Flux's source-controller builds: "
                "tofu-controller would plan without it, and destroy what it declared",
                "remove this pattern; nothing in generated/, users.json or settings.json may be ignored"))
    return out


def _from(path: PurePosixPath, below: PurePosixPath) -> str:
    """path (from the repository's top) as named from the data directory."""
    try:
        return path.relative_to(below).as_posix()
    except ValueError:
        return path.as_posix()


def tools_problems(checkout: Path) -> list[Problem]:
    """Files committed under checkout's .tools/ (git-ignored: only a `git add -f` puts one there).
    A checkout of a commit that tracks any has a .tools/, so git is asked only when there is one."""
    if not os.path.lexists(checkout / TOOLS):
        return []
    return [Problem(name, "(git)", f"is committed, but {TOOLS}/ holds what `make setup` builds (OpenTofu, "
                    "which `plan` runs): a checkout of this commit replaces the reviewer's build with it",
                    f"remove it from git (`git rm -r --cached {TOOLS}` and commit), then run `make tools`; "
                    "review where it came from")
            for name in gitref.tracked(checkout, TOOLS)]
