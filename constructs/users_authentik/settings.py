"""One place for settings: settings.json, checked against schemas/settings.schema.json.

Defaults live in the schema (its `default` keywords), so the schema documents every
setting and its default, and this module only gives them typed names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .parse import load_json
from .problems import Problem
from .schema_check import check_schema, load_schema

SCHEMA = "settings.schema.json"


@dataclass(frozen=True)
class ProviderSettings:
    version: str


@dataclass(frozen=True)
class UserSettings:
    path: str
    superuser_group: str


@dataclass(frozen=True)
class OffboardingSettings:
    max_removals: int
    max_removal_percent: float


@dataclass(frozen=True)
class Settings:
    provider: ProviderSettings
    users: UserSettings
    offboarding: OffboardingSettings

    @classmethod
    def defaults(cls) -> "Settings":
        return _build(with_defaults({}, load_schema(SCHEMA)))


def with_defaults(data: Any, schema: dict[str, Any]) -> Any:
    """Fill missing keys from the schema's `default`s, recursively through objects."""
    if schema.get("type") != "object" or not isinstance(data, dict):
        return data
    out = dict(data)
    for key, sub in schema.get("properties", {}).items():
        if key not in out and "default" in sub:
            out[key] = sub["default"]
        if key in out:
            out[key] = with_defaults(out[key], sub)
    return out


def _build(data: dict[str, Any]) -> Settings:
    return Settings(provider=ProviderSettings(**data["provider"]),
                    users=UserSettings(**data["users"]),
                    offboarding=OffboardingSettings(**data["offboarding"]))


def load_settings(path: Path, file: str = "settings.json") -> tuple[Settings | None, list[Problem]]:
    """settings.json is optional: absent means every default."""
    if not path.exists():
        return Settings.defaults(), []
    data, problems = load_json(path, file)
    if problems:
        return None, problems
    problems = check_schema(data, SCHEMA, file)
    if problems:
        return None, problems
    data.pop("$schema", None)
    return _build(with_defaults(data, load_schema(SCHEMA))), []
