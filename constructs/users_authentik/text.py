"""User text as Authentik, PostgreSQL and a reader's eyes see it: one comparison key, one
look-alike key, the characters that must not be in a name, and safe quoting for messages.

- fold(): the key under which Authentik and PostgreSQL treat two names as one account.
  Login matches usernames case-insensitively in the database (UPPER(a) = UPPER(b)), and
  forms may normalise to NFKC (Django's normalize_username). Python's casefold() alone
  misses one of PostgreSQL's folds: dotless ı (U+0131) casefolds to itself, but UPPER
  makes it I, so "akadmın" logs in as "akadmin". Upper-casing before casefold() closes
  that gap (and ſ, the Kelvin sign K, ß and the ligatures are already folded by NFKC +
  casefold); NFKC again at the end keeps the key stable (Greek letters with dialytika and
  tonos decompose on upper-casing). tests/test_hostile_text.py measures the whole range
  against glibc's towupper, what PostgreSQL's UPPER uses.
- skeleton(): Unicode TS #39 confusable skeleton (ICU's SpoofChecker, through PyICU) of
  the fold: equal skeletons look alike (Cyrillic а and Latin a, Arabic-Indic ١ and l).
  keys() gives both at once (the fold is the skeleton's input), for checks that compare
  a name both ways.
- invisible(): the format characters (Cf: zero-width space, bidirectional overrides,
  soft hyphen...) a name must not contain.
- visible(): text safe for a terminal and a CI log: controls, format characters, lone
  surrogates and line separators written as escapes (\\x1b, \\u202e), like Python's repr,
  and the `#` that would start a GitHub workflow command (`##[`) as \\x23; visible_lines()
  keeps a text's line breaks.
- code_block(): text as a Markdown code block that no line of the text can close.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Categories never written raw to a terminal: controls (C0, DEL, C1: ESC starts a terminal
# escape, U+009B is a one-byte CSI), format characters (bidi overrides reorder the line),
# lone surrogates (not encodable), line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def fold(text: str) -> str:
    key = unicodedata.normalize("NFKC", text)
    return unicodedata.normalize("NFKC", key.upper().casefold())


@lru_cache(maxsize=1)
def _spoof_checker():
    import icu  # PyICU (pyicu-wheels): imported only when a name is compared

    return icu.SpoofChecker()


def skeleton(text: str) -> str:
    return _spoof_checker().getSkeleton(0, fold(text))


def keys(text: str) -> tuple[str, str]:
    """(fold(text), skeleton(text)), folding once."""
    key = fold(text)
    return key, _spoof_checker().getSkeleton(0, key)


def invisible(text: str) -> list[str]:
    """The format characters (Cf) of text, each once: zero-width and bidirectional
    controls. Controls (Cc) are parse.py's: refused in every file but group attributes."""
    if text.isascii():
        return []
    return list(dict.fromkeys(c for c in text if unicodedata.category(c) == "Cf"))


def non_ascii(text: str) -> list[str]:
    return list(dict.fromkeys(c for c in text if not c.isascii()))


def describe(chars: list[str]) -> str:
    """e.g. `U+202E RIGHT-TO-LEFT OVERRIDE, U+0430 CYRILLIC SMALL LETTER A`."""
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '(unnamed)')}" for c in chars)


def visible(text: str) -> str:
    if not (text.isascii() and text.isprintable()):
        text = "".join(_escape(c) if not c.isprintable() and unicodedata.category(c) in _HIDDEN else c
                       for c in text)
    # GitHub's runner runs `##[name]data` found anywhere in a line of a step's output as a
    # workflow command (its older syntax; `::name::` only at a line's start, which is never
    # user text): a display name `##[add-mask]…` or `##[group]` hid lines of CI's log,
    # `##[error]…` made an annotation of its own.
    return text.replace("##[", "#\\x23[") if "##[" in text else text


def visible_lines(text: str) -> str:
    """visible() of each line of text, its "\n" line breaks kept (a report, a plan, git's notes)."""
    return "\n".join(visible(line) for line in text.split("\n"))


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def counted(n: int, noun: str) -> str:
    """"1 user", "2 users": every count a person reads."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


# GitHub drops a step's job summary over 1 MiB whole, with only an error annotation, the step
# still green (actions/runner, CreateStepSummaryCommand): what diff and plan write there stays
# under it, so no pull request can make its own summary disappear with its warnings.
SUMMARY_BUDGET = 1024 * 1024 - 24 * 1024

# "Did you mean" (difflib, one name against every candidate) for at most this many distinct
# names per run, and only between names this long: its cost grows with both, and a hostile
# file of thousands of near-miss groups made check and diff quadratic (tests/test_validation.py).
SUGGESTIONS = 20
SUGGESTED_LENGTH = 150


def code_block(text: str) -> str:
    """text in a fenced Markdown code block (GitHub's job summary, a comment). A fence is closed
    only by a line of at least as many backticks (CommonMark), so this one is longer than any run
    of backticks in text: a name holding ``` cannot end it and have the rest render. Nothing in a
    code block renders, mentions or links."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text.rstrip(chr(10))}\n{fence}\n"
