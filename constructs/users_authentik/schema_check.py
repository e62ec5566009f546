"""Check a parsed document against one of the project's JSON Schemas.

Two libraries, each for what it is good at. fastjsonschema compiles the schema into
Python and answers yes/no quickly; nearly every run is on a valid file, and then that
answer is all that is needed (jsonschema is not even imported). The compiled code is
committed (users_schema.py, settings_schema.py: fastjsonschema's own compile_to_code,
written by tools/gen_validators.py), so no run spends its start compiling a schema. On a no, jsonschema
(the reference implementation of draft 2020-12) finds every error, and its answer is the
one that counts: should the two ever disagree, the fast no only cost time.
fastjsonschema has no draft 2020-12 generator and uses its 2019-09 one, which reads the
keywords these schemas use the same way (no `$ref` beside other keywords, no `format`).
`pattern` is re.search in both, but fastjsonschema reads `$` as the end of the text
where re allows a final newline; the schemas write `$(?!\\n)`, which is the end of the text
to both. tests/test_schema_check.py holds the two to the same answers.

jsonschema's own messages are written for programmers; each error is turned into a
Problem with a location, what is wrong and a fix. Rules may carry `x-problem` / `x-fix`
next to the constraint in the schema, so the message lives beside the rule it explains.
"""

from __future__ import annotations

import difflib
import importlib
import json
from functools import lru_cache
from typing import Any, Callable

from fastjsonschema import JsonSchemaException

from .data_files import data_dir
from .problems import Problem, where

SCHEMAS = data_dir("schemas")

_TYPE_NAMES = {"object": "an object {…}", "array": "a list […]", "string": "a string",
               "boolean": "true or false", "integer": "a whole number", "number": "a number"}


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def fast_validator(name: str) -> Callable[[Any], Any]:
    """The compiled check of schemas/<name>: e.g. users.schema.json -> users_schema.validate."""
    module = name.removesuffix(".schema.json") + "_schema"
    return importlib.import_module(f".{module}", __package__).validate


def passes(data: Any, schema_name: str) -> bool:
    """fastjsonschema's yes/no."""
    try:
        fast_validator(schema_name)(data)
    except JsonSchemaException:
        return False
    return True


def check_schema(data: Any, schema_name: str, file: str) -> list[Problem]:
    if passes(data, schema_name):
        return []  # the usual case
    from jsonschema import Draft202012Validator  # imported here: only a failed check needs it

    validator = Draft202012Validator(load_schema(schema_name))
    problems = {problem for err in validator.iter_errors(data) for problem in _to_problems(err, file)}
    return sorted(problems)


def _to_problems(err: Any, file: str) -> list[Problem]:
    kind = err.validator
    if kind == "additionalProperties":
        properties = err.schema.get("properties", {})
        # Keys the schema forbids outright ("not": {}) are known but never allowed.
        allowed = sorted(k for k, sub in properties.items() if "not" not in sub)
        problems = []
        for key in sorted(set(err.instance) - set(properties)):  # each one, not just the first
            close = difflib.get_close_matches(key, allowed, n=1)
            suggestion = f' (did you mean "{close[0]}"?)' if close else ""
            problems.append(Problem(file, where(*err.absolute_path, key), f'unknown key "{key}"{suggestion}',
                                    f"remove it or correct its spelling; allowed keys: {', '.join(allowed)}"))
        return problems or [_to_problem(err, file)]  # never drop an error
    if kind == "required":
        # One error per missing key; each names all of them, and the set drops the repeats.
        return [Problem(file, where(*err.absolute_path, missing), f'"{missing}" is missing',
                        err.schema.get("properties", {}).get(missing, {}).get("x-fix", f'add "{missing}"'))
                for missing in err.validator_value if missing not in err.instance] or [_to_problem(err, file)]
    return [_to_problem(err, file)]


def _to_problem(err: Any, file: str) -> Problem:
    path = list(err.absolute_path)
    hint = err.schema if isinstance(err.schema, dict) else {}
    kind = err.validator
    if "propertyNames" in err.relative_schema_path:
        # The error is about a key, not a value: point at the key itself.
        key = err.instance
        return Problem(file, where(*path, str(key)),
                       f"{json.dumps(key)} {hint.get('x-problem', 'is not an allowed name')}",
                       hint.get("x-fix", "rename it"))
    loc = where(*path)
    if kind == "not":
        return Problem(file, loc, f"is not allowed: {hint.get('x-problem', 'forbidden key')}",
                       hint.get("x-fix", "remove it"))
    if kind == "type":
        want = err.validator_value
        want = " or ".join(_TYPE_NAMES.get(t, t) for t in (want if isinstance(want, list) else [want]))
        return Problem(file, loc, f"must be {want}, not {json.dumps(err.instance)[:60]}",
                       hint.get("x-fix", f"write {want} here"))
    if kind == "uniqueItems":
        return Problem(file, loc, "lists the same entry more than once",
                       hint.get("x-fix", "list each entry once"))
    if kind in ("pattern", "minLength", "maxLength", "format", "minimum", "maximum"):
        return Problem(file, loc, f"{json.dumps(err.instance)[:80]} {hint.get('x-problem', 'is not allowed here')}",
                       hint.get("x-fix", err.message))
    return Problem(file, loc, err.message, hint.get("x-fix", "see the schema's description of this key"))
