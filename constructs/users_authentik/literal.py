"""Text from users.json and settings.json as Terraform literal text: the one escape rule.

Terraform (and OpenTofu) parse every string of a `*.tf.json` file as a template, object keys
included: `${...}` is evaluated (`file("/proc/self/environ")` on the runner) and `%{...}` is a
directive. The language's own escapes make them literal: `$${` stands for `${` and `%%{` for
`%{`; nothing else is special (a lone or trailing `$` or `%` is already literal). cdktf's
`Fn.rawString` escapes only `${`, not `%{`, so it is not used.

Two paths reach Terraform, each escaped in one place:
- the rows of users.tf.json: synth.py escapes each encoded line (`literal`), keys included;
- settings values in cdk.tf.json: stack.py hands the constructs `literal_settings(settings)`.
Addresses (import and moved blocks) escape their key with `literal` too (addressing.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")


def literal(text: str) -> str:
    """`text` written so that Terraform's template evaluation gives back exactly `text`.

    Also right for JSON-encoded text: encoding never adds or removes `$`, `%` or `{`, so the
    escaped encoding of a string is the encoding of the escaped string.
    """
    if "{" not in text:  # the usual case: nothing to escape, no copy
        return text
    return text.replace("${", "$${").replace("%{", "%%{")


def literal_settings(settings: T) -> T:
    """A copy of a (frozen dataclass) settings tree with every string made literal."""
    return _escape(settings)


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return literal(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _escape(getattr(value, f.name))
                                             for f in dataclasses.fields(value)})
    if isinstance(value, (list, tuple)):
        return type(value)(_escape(v) for v in value)
    return value
