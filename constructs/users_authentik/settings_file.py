"""settings.json: its bytes -> Settings (settings.py's types), or every problem in it; and
the note for a brand still on a placeholder domain.

Checked in three steps, each only on what passed the one before: JSON (parse.py), the
schema (schemas/settings.schema.json, which also holds the defaults), then what a schema
cannot say (two flows with one slug). The working tree's copy and a git revision's are
read by the same function (loading.py).
"""

from __future__ import annotations

import dataclasses
import re
import struct
from typing import Any, Iterator

from .parse import load_json
from .problems import Problem, where
from .schema_check import check_schema
from .settings import SCHEMA, Settings

FILE = "settings.json"


def load_settings(data: bytes | None, file: str = FILE) -> tuple[Settings | None, list[Problem]]:
    """settings.json is optional: absent (data None) means every default."""
    if data is None:
        return Settings.defaults(), []
    document, problems = load_json(data, file)
    if problems:
        return None, problems
    problems = check_schema(document, SCHEMA, file)
    if problems:
        return None, problems
    document.pop("$schema", None)
    settings = Settings.from_document(document)
    problems = _check_meaning(settings, file)
    return (None, problems) if problems else (settings, [])


def _check_meaning(settings: Settings, file: str) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for key, flow in settings.flows.all().items():
        other = seen.setdefault(flow.slug, key)
        if other != key:
            problems.append(Problem(file, where("flows", key, "slug"),
                                    f'"{flow.slug}" is also the slug of flows.{other}',
                                    "give every flow its own slug"))
    for key in ("user_settings_flow", "invalidation_flow"):
        slug = getattr(settings.brand, key)
        if slug in seen:
            # A lookup of a flow this module creates fails on the first plan.
            problems.append(Problem(file, where("brand", key),
                                    f'"{slug}" is a flow this module creates (flows.{seen[slug]}), not an existing one',
                                    "name an existing Authentik flow, e.g. the default \"default-user-settings-flow\""))
    problems += [Problem(file, where(*path), f"holds {marker!r}, which cdktf reads as one of its own tokens "
                                             "(it has no escape for it): synth would fail",
                         f"leave {marker!r} out of this text")
                 for path, text in _texts(settings) for marker in _cdktf_markers(text)]
    return problems


# cdktf's token markers (its tokens/private/encoding: string and list tokens), also found
# inside Terraform's escape `$${`: settings strings are the stack's only text from the PR.
_CDKTF_MARKERS = ("${TfToken[", "#{TfToken[")
# cdktf also refuses these two texts whole (its map-token placeholders, tokens/token), and
# reads any number in a string whose top 16 bits are its number-token marker as a number
# token (tokens/private/encoding: NUMBER_TOKEN_REGEX, then JavaScript's parseFloat of the
# match): "-8.109562212591379e+298" is token 0.
_CDKTF_PLACEHOLDERS = ("String Map Token Value", "Any Map Token Value")
# cdktf's pattern is [-|\d|.\+]+(e[-|\d|.|e|E|\+]+) (JavaScript's \d is [0-9]). Written as is, a
# long run of digits with no "e" costs time quadratic in its length (tried again from every
# position); settings texts have no length limit, so a pull request could stall check. The
# same matches, each run tried once: from its start only, without backtracking into it.
_CDKTF_NUMBER = re.compile(r"(?<![-|0-9.+])[-|0-9.+]++e[-|0-9.eE+]+")
_JS_FLOAT_PREFIX = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # what parseFloat reads
_NUMBER_TOKEN_BITS = 0xFDFF


def _cdktf_markers(text: str) -> list[str]:
    """What in text cdktf would read as its own token, each as written there."""
    found = [marker for marker in _CDKTF_MARKERS if marker in text]
    found += [text] if text in _CDKTF_PLACEHOLDERS else []
    for match in _CDKTF_NUMBER.finditer(text):
        number = _JS_FLOAT_PREFIX.match(match.group())
        if number is not None and struct.unpack("<Q", struct.pack("<d", float(number.group())))[0] >> 48 == _NUMBER_TOKEN_BITS:
            found.append(match.group())
    return found


def _texts(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from _texts(getattr(value, f.name), path + (f.name,))
    elif isinstance(value, tuple):
        for i, item in enumerate(value):
            yield from _texts(item, path + (i,))


# Names reserved for examples (RFC 2606, RFC 6761): a brand for such a host matches no real
# sign-in page. The default is one, so that a fresh clone synthesizes; this says so.
_EXAMPLE_HOST = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)\Z")


def placeholder_notes(settings: Settings) -> list[str]:
    domain = settings.brand.domain
    if not _EXAMPLE_HOST.search(domain):
        return []
    return [f'note: settings.json brand.domain is "{domain}", a name reserved for examples, so the brand '
            "matches no real host and your sign-in page keeps Authentik's default flows; set brand.domain "
            "to the host name people sign in at"]
