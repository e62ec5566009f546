"""A fast yes/no for "does this document pass its JSON Schema?", built from the same schema.

jsonschema explains every error (schema_check.py turns them into Problems), but it spends
about 0.1 ms per user: 1.3 s for 10,000 users, twice what starting CDKTF costs, on every
commit (bench/README.md). Nearly every run is on a valid file, so check_schema asks this
predicate first and only imports and runs jsonschema when the answer is not a plain yes.

The predicate is conservative: True means jsonschema would report nothing; False means
"ask jsonschema" (which then lists the problems, or finds none, and then False was only
caution). It knows the keywords below, each with jsonschema's meaning (`pattern` is
re.search, lengths are len(), JSON types are Python types as json.loads makes them);
a schema that uses any other keyword gets no predicate, and every check of it goes
through jsonschema as before. tests/test_fast_check.py holds both to the same answers.
"""

from __future__ import annotations

import operator
import re
from typing import Any, Callable

Predicate = Callable[[Any], bool]

# Keywords that never make a document invalid (x-problem / x-fix too: see _compile).
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "title", "description", "default",
                         "examples", "deprecated", "readOnly", "writeOnly"})


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# 1.0 is an integer to jsonschema; a float here answers "ask jsonschema".
TYPES: dict[str, Predicate] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": _number,
}


class Unsupported(Exception):
    """The schema uses something this module does not implement."""


def compile_schema(schema: Any) -> Predicate | None:
    """A predicate for `schema` (a whole document with local $refs), or None."""
    try:
        return _Compiler(schema).compile(schema)
    except Unsupported:
        return None


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _all(checks: list[Predicate]) -> Predicate:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for c in checks:
            if not c(value):
                return False
        return True
    return check


class _Compiler:
    def __init__(self, root: Any):
        self.root = root
        self.resolving: set[str] = set()

    def compile(self, schema: Any) -> Predicate:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported(f"schema {schema!r}")
        if "$id" in schema and schema is not self.root:
            raise Unsupported("$id below the root")
        checks: list[Predicate] = []
        handled = set(ANNOTATIONS)
        for keyword, build in self.KEYWORDS:
            if keyword in schema:
                handled.add(keyword)
                checks.append(build(self, schema[keyword], schema))
        if "additionalProperties" in schema or "properties" in schema:
            handled |= {"properties", "additionalProperties"}
            checks.append(self._properties(schema.get("properties", {}), schema.get("additionalProperties", True)))
        unknown = [k for k in schema if k not in handled and not k.startswith("x-")]
        if unknown:
            raise Unsupported(", ".join(unknown))
        return _all([c for c in checks if c is not _always])

    # --- keywords; each returns a predicate that holds for values it does not apply to

    def _type(self, names: Any, _: dict) -> Predicate:
        if isinstance(names, str):
            names = [names]
        try:
            tests = [TYPES[n] for n in names]
        except (KeyError, TypeError) as err:
            raise Unsupported(f"type {names!r}") from err
        return tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests))

    def _ref(self, ref: Any, _: dict) -> Predicate:
        if not isinstance(ref, str) or not ref.startswith("#") or "%" in ref or ref in self.resolving:
            raise Unsupported(f"$ref {ref!r}")  # only local, non-recursive references
        node = self.root
        for part in ref[1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise Unsupported(f"$ref {ref!r}")
            node = node[part]
        self.resolving.add(ref)
        try:
            return self.compile(node)
        finally:
            self.resolving.discard(ref)

    def _required(self, names: list[str], _: dict) -> Predicate:
        required = frozenset(names)
        return lambda v: not isinstance(v, dict) or required <= v.keys()

    def _properties(self, properties: dict, additional: Any) -> Predicate:
        known = {name: self.compile(sub) for name, sub in properties.items()}
        other = self.compile(additional)

        def check(value: Any) -> bool:
            if not isinstance(value, dict):
                return True
            for key, item in value.items():
                if not known.get(key, other)(item):
                    return False
            return True
        return check

    def _property_names(self, sub: Any, _: dict) -> Predicate:
        names = self.compile(sub)
        return lambda v: not isinstance(v, dict) or all(map(names, v))

    def _items(self, sub: Any, schema: dict) -> Predicate:
        if "prefixItems" in schema or isinstance(sub, list):
            raise Unsupported("prefixItems / items as a list")
        each = self.compile(sub)
        return lambda v: not isinstance(v, list) or all(map(each, v))

    def _unique_items(self, unique: Any, _: dict) -> Predicate:
        if unique is not True:
            return _always
        # Strings only: jsonschema's equality for other values (1 vs true) is left to it.
        return lambda v: not isinstance(v, list) or (
            all(isinstance(x, str) for x in v) and len(set(v)) == len(v))

    def _not(self, sub: Any, _: dict) -> Predicate:
        # Used for forbidden keys ({"not": {}}): a value that meets a `not` goes to jsonschema.
        return _never

    def _pattern(self, pattern: str, _: dict) -> Predicate:
        search = re.compile(pattern).search  # jsonschema: re.search(pattern, instance)
        return lambda v: not isinstance(v, str) or search(v) is not None

    def _enum(self, values: Any, _: dict) -> Predicate:
        if not isinstance(values, list) or not all(isinstance(x, str) for x in values):
            raise Unsupported("enum of non-strings")
        allowed = frozenset(values)
        return lambda v: isinstance(v, str) and v in allowed

    def _const(self, value: Any, schema: dict) -> Predicate:
        return self._enum([value], schema)

    def _size(kind: type, op: Callable[[int, int], bool]) -> Callable[..., Predicate]:  # noqa: N805
        """minLength and friends: len() of a string (code points, as jsonschema) or list."""
        return lambda self, limit, _: lambda v: not isinstance(v, kind) or op(len(v), limit)

    def _bound(op: Callable[[Any, Any], bool]) -> Callable[..., Predicate]:  # noqa: N805
        """minimum and friends: apply to numbers only (true is not a number)."""
        def build(self: Any, limit: Any, _: dict) -> Predicate:
            if not _number(limit):
                raise Unsupported(f"bound {limit!r}")
            return lambda v: not _number(v) or op(v, limit)
        return build

    KEYWORDS: list[tuple[str, Callable[..., Predicate]]] = [
        ("type", _type), ("$ref", _ref), ("required", _required), ("propertyNames", _property_names),
        ("items", _items), ("uniqueItems", _unique_items), ("not", _not), ("pattern", _pattern),
        ("enum", _enum), ("const", _const),
        ("minLength", _size(str, operator.ge)), ("maxLength", _size(str, operator.le)),
        ("minItems", _size(list, operator.ge)), ("maxItems", _size(list, operator.le)),
        ("minimum", _bound(operator.ge)), ("maximum", _bound(operator.le)),
        ("exclusiveMinimum", _bound(operator.gt)), ("exclusiveMaximum", _bound(operator.lt)),
    ]
