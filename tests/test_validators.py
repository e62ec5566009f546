"""The committed yes/no checks (users_schema.py, settings_schema.py) are fastjsonschema's own
compile_to_code output for today's schemas (tools/gen_validators.py), and answer as
fastjsonschema.compile of the schema answers."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from jsonschema import Draft202012Validator

from tests.helpers import ROOT
from tests.test_schema_check import mutate
from tests.test_validation import CASES, EXAMPLE
from tools import gen_validators as GENERATOR
from users_authentik.schema_check import fast_validator, load_schema
from users_authentik.standin.workload import users_document


def test_the_validators_are_the_generators_output() -> None:
    """A schema edited, or fastjsonschema upgraded, without running the generator fails here."""
    for name in GENERATOR.SCHEMAS:
        committed = (ROOT / GENERATOR.output_path(name)).read_text(encoding="utf-8")
        assert committed == GENERATOR.render(name)
        assert "do not edit" in committed and f"fastjsonschema {fastjsonschema.VERSION}" in committed
    assert GENERATOR.main(["--check"]) == 0


def test_the_generator_check_fails_on_a_changed_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GENERATOR.SCHEMAS:
        (tmp_path / GENERATOR.output_path(name)).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / GENERATOR.output_path(name)).write_text(
            (ROOT / GENERATOR.output_path(name)).read_text(encoding="utf-8"), encoding="utf-8")
        schema = json.loads((ROOT / "schemas" / f"{name}.schema.json").read_text(encoding="utf-8"))
        if name == "users":
            schema["$defs"]["user"]["properties"]["email"]["maxLength"] = 10
        (tmp_path / "schemas").mkdir(exist_ok=True)
        (tmp_path / "schemas" / f"{name}.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    monkeypatch.setattr(GENERATOR, "ROOT", tmp_path)
    assert GENERATOR.main(["--check"]) == 1
    assert GENERATOR.main([]) == 0 and GENERATOR.main(["--check"]) == 0


def _answer(check: Any, doc: Any) -> bool:
    try:
        check(copy.deepcopy(doc))
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@pytest.mark.parametrize("name", ["users.schema.json", "settings.schema.json"])
def test_the_committed_check_answers_as_compile_does(name: str) -> None:
    committed = fast_validator(name)
    compiled = fastjsonschema.compile(load_schema(name), **GENERATOR.OPTIONS)
    if name == "users.schema.json":
        docs = [EXAMPLE, users_document(50, seed=2)] + [d for _, text, _ in CASES if (d := _loads(text)) is not None]
        base = users_document(4, seed=3)
    else:
        base = {"provider": {"version": "2026.5.0"}, "users": {"path": "users", "superuser_group": "g"}}
        docs = [{}, base]
    rng = random.Random(name)
    docs += [mutate(base, rng) for _ in range(300)]
    answers = [(_answer(committed, d), _answer(compiled, d)) for d in docs]
    assert all(a == b for a, b in answers)
    assert {a for a, _ in answers} == {True, False}  # both answers were seen


def test_a_valid_run_compiles_no_schema() -> None:
    code = ("import sys, fastjsonschema; fastjsonschema.compile = None; from users_authentik.cli import main; "
            "sys.exit(main(['check']))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_the_yes_no_part_inlines_references_and_keeps_what_is_data() -> None:
    schema = {"$id": "https://example.invalid/s.json", "type": "object",
              "properties": {"description": {"$ref": "#/$defs/word", "description": "an annotation"},
                             "kind": {"enum": [{"description": "a value, kept"}], "default": "x"}},
              "additionalProperties": {"$ref": "#/$defs/word", "minLength": 2},
              "$defs": {"word": {"type": "string", "x-fix": "a message", "pattern": "^[a-z]+$"}}}
    part = GENERATOR.yes_no_part(schema)
    word = {"type": "string", "pattern": "^[a-z]+$"}
    assert part == {"$id": "https://example.invalid/s.json", "type": "object",
                    "properties": {"description": word, "kind": {"enum": [{"description": "a value, kept"}]}},
                    "additionalProperties": {"allOf": [word], "minLength": 2}}
    looped = {"$defs": {"a": {"items": {"$ref": "#/$defs/a"}}}, "items": {"$ref": "#/$defs/a"}}
    with pytest.raises(ValueError, match="refers to itself"):
        GENERATOR.yes_no_part(looped)
    # The committed checks are compiled from it: no $ref left, so no call per referenced item.
    for name in GENERATOR.SCHEMAS:
        code = (ROOT / GENERATOR.output_path(name)).read_text(encoding="utf-8")
        assert code.count("\ndef ") == 1 and "x-fix" not in code


@pytest.mark.parametrize("order", ["ref first", "allOf first"])
def test_a_reference_beside_allof_is_kept(order: str) -> None:
    # Inlining turns a $ref into an allOf entry: a node with its own allOf must keep both,
    # whichever key comes first, or the fast check says yes to what the schema refuses.
    ref, all_of = ("$ref", "#/$defs/word"), ("allOf", [{"minLength": 3}])
    pairs = [ref, all_of] if order == "ref first" else [all_of, ref]
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **dict(pairs),
              "$defs": {"word": {"type": "string"}}}
    check = fastjsonschema.compile(GENERATOR.yes_no_part(schema), **GENERATOR.OPTIONS)
    for value in (5, "ab", "abc"):
        assert _answer(check, value) == Draft202012Validator(schema).is_valid(value), value


def test_a_reference_the_generator_cannot_inline_is_named() -> None:
    for ref in ("#/$defs/missing", "#/$defs/word/properties/x"):
        schema = {"properties": {"a": {"$ref": ref}}, "$defs": {"word": {"type": "string"}}}
        with pytest.raises(ValueError, match="cannot be inlined"):
            GENERATOR.yes_no_part(schema)
