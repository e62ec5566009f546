"""fastjsonschema's yes must be jsonschema's yes: same schemas, same answers on good and bad input."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from typing import Any

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator

from tests.helpers import ROOT
from tests.test_validation import CASES, EXAMPLE
from users_authentik.schema_check import fast_validator, load_schema, passes
from users_authentik.standin.workload import users_document

SCHEMAS = ("users.schema.json", "settings.schema.json")


def jsonschema_ok(name: str, doc: Any) -> bool:
    return not any(Draft202012Validator(load_schema(name)).iter_errors(doc))


def predicate(name: str):
    return lambda doc: passes(doc, name)


def test_valid_documents_pass_both() -> None:
    users = predicate("users.schema.json")
    for doc in (EXAMPLE, users_document(1), users_document(300, seed=1)):
        assert users(doc) and jsonschema_ok("users.schema.json", doc)
    settings = predicate("settings.schema.json")
    for doc in ({}, {"provider": {"version": "2026.5.0"}, "users": {"path": "a/b", "superuser_group": "x"}}):
        assert settings(doc) and jsonschema_ok("settings.schema.json", doc)


@pytest.mark.parametrize("name", SCHEMAS)
def test_the_fast_check_never_changes_the_document(name: str) -> None:
    # fastjsonschema fills in `default`s unless told not to; settings.py applies them itself,
    # and the removal guard and diff read the document as written.
    doc = {} if name == "settings.schema.json" else copy.deepcopy(EXAMPLE)
    before = copy.deepcopy(doc)
    fast_validator(name)(doc)
    assert doc == before


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def test_bad_inputs_of_test_validation_get_the_same_answer() -> None:
    users = predicate("users.schema.json")
    compared = 0
    for case_id, text, _ in CASES:
        doc = _loads(text)
        if doc is None:
            continue
        compared += 1
        assert users(doc) == jsonschema_ok("users.schema.json", doc), case_id
    assert compared >= 20


TRICKY = [None, True, False, 0, 1, 1.0, 2.5, -1, "", " ", "x", "a b", " x", "x ", "bob\n", "ä", "Zoë",
          "@", "a@b.c", "a@b", "a" * 151, "users/eng", "/x", "x/", "1.2.3", "1.2", [], ["x"], ["x", "x"],
          ["", "y"], [1, True], [1, 1.0], [True, 1], {}, {"x": 1}, {"attributes": {}}, {"attributes": []}]
KEYS = ["name", "email", "groups", "is_admin", "active", "path", "password", "emial", "users", "groups",
        "$schema", "attributes", "provider", "version", "superuser_group", "", "a b", "x\n", "akadmin"]


def mutate(doc: Any, rng: random.Random) -> Any:
    """One random edit somewhere in doc: replace, delete or add a value."""
    doc = copy.deepcopy(doc)
    parent, key = None, None
    node = doc
    while isinstance(node, (dict, list)) and node and rng.random() < 0.7:
        parent = node
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        node = node[key]
    action = rng.random()
    if parent is None:
        return rng.choice(TRICKY) if action < 0.1 else doc
    if action < 0.5:
        parent[key] = copy.deepcopy(rng.choice(TRICKY))
    elif action < 0.7:
        del parent[key]
    elif isinstance(parent, dict):
        parent[rng.choice(KEYS)] = copy.deepcopy(rng.choice(TRICKY + [users_document(1)["users"]]))
    else:
        parent.append(copy.deepcopy(rng.choice(TRICKY)))
    return doc


@pytest.mark.parametrize("name,base", [
    ("users.schema.json", users_document(4, seed=3)),
    ("users.schema.json", EXAMPLE),
    ("settings.schema.json", {"provider": {"version": "2026.5.0"}, "users": {"path": "users", "superuser_group": "g"}}),
])
def test_random_edits_never_pass_fast_but_fail_jsonschema(name: str, base: Any) -> None:
    fast_yes = predicate(name)
    rng = random.Random(name + json.dumps(base))
    agreed = 0
    for _ in range(400):
        doc = base
        for _ in range(rng.randint(1, 3)):
            doc = mutate(doc, rng)
        fast, slow = fast_yes(doc), jsonschema_ok(name, doc)
        assert slow or not fast, json.dumps(doc, ensure_ascii=False)[:500]  # fast yes => jsonschema yes
        agreed += fast == slow
    assert agreed >= 380  # a fast no on a valid document (only time lost) is rare


def passes_schema(schema: dict, value: Any) -> bool:
    try:
        fastjsonschema.compile(schema, use_default=False, use_formats=False)(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def test_keywords_keep_jsonschemas_meaning() -> None:
    cases = [
        ({"type": "integer"}, [1, -3, True, 1.5, "1", None]),
        ({"type": "number", "minimum": 0, "exclusiveMaximum": 10}, [0, 9.9, 10, -1, True, "5"]),
        ({"type": ["string", "null"], "minLength": 2, "maxLength": 3}, ["ab", "abc", "a", "abcd", None, "äö"]),
        ({"pattern": "^a$(?!\n)"}, ["a", "a\n", "ba", "a\nb"]),    # the schemas' end of text
        ({"pattern": "^(?=.{1,3}$(?!\n))a+$(?!\n)"}, ["a", "aaa", "aaaa", "a\n", "aa\n"]),
        ({"uniqueItems": True, "minItems": 1, "maxItems": 2}, [["a"], ["a", "a"], [], ["a", "b", "c"], "x"]),
        ({"required": ["a"], "properties": {"a": {"const": "x"}}, "additionalProperties": False},
         [{"a": "x"}, {"a": "y"}, {}, {"a": "x", "b": 1}, []]),
        ({"propertyNames": {"maxLength": 1}}, [{"a": 1}, {"ab": 1}, []]),
        ({"not": {}}, [1, None]),
        ({"enum": ["a", "b"]}, ["a", "c", 1]),
    ]
    for schema, values in cases:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
        for value in values:
            fast = passes_schema(schema, value)
            slow = not any(Draft202012Validator(schema).iter_errors(value))
            assert fast == slow, (schema, value)


def test_a_bare_dollar_is_only_stricter() -> None:
    # fastjsonschema reads `$` as \Z: "a\n" gets a fast no and jsonschema's yes, which counts.
    assert not passes_schema({"pattern": "^a$"}, "a\n")
    assert not any(Draft202012Validator({"pattern": "^a$"}).iter_errors("a\n"))


def test_a_valid_check_does_not_import_jsonschema() -> None:
    code = ("import sys; from users_authentik.cli import main; "
            "rc = main(['check']); assert 'jsonschema' not in sys.modules, 'jsonschema imported'; sys.exit(rc)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
