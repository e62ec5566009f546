"""One place for settings: settings.json, checked against schemas/settings.schema.json.

Defaults live in the schema (its `default` keywords), so the schema documents every
setting and its default, and this module only gives them typed names.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .parse import load_json
from .problems import Problem, where
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
class BrandSettings:
    domain: str
    title: str
    logo: str
    favicon: str
    user_settings_flow: str | None
    invalidation_flow: str | None


@dataclass(frozen=True)
class FlowSettings:
    slug: str
    title: str


@dataclass(frozen=True)
class FlowsSettings:
    name_prefix: str
    passwordless: FlowSettings
    login: FlowSettings
    enrollment: FlowSettings
    recovery: FlowSettings
    webauthn_setup: FlowSettings
    totp_setup: FlowSettings
    static_setup: FlowSettings

    def all(self) -> dict[str, FlowSettings]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value for name, value in values.items() if isinstance(value, FlowSettings)}


@dataclass(frozen=True)
class SessionSettings:
    duration: str
    remember_me_offset: str


@dataclass(frozen=True)
class EmailSettings:
    recovery_token_expiry: str
    enrollment_token_expiry: str
    recovery_subject: str
    enrollment_subject: str


@dataclass(frozen=True)
class OffboardingSettings:
    max_removals: int
    max_removal_percent: float


@dataclass(frozen=True)
class RedirectUri:
    url: str
    matching_mode: str  # strict | regex


@dataclass(frozen=True)
class NetBirdSettings:
    enabled: bool
    mode: str  # connector | idp_manager
    name: str
    slug: str
    client_id: str
    redirect_uris: tuple[RedirectUri, ...]
    launch_url: str | None
    signing_key: str
    authorization_flow: str
    invalidation_flow: str
    service_account: str
    allow_removal: bool  # the override for one change that deletes NetBird's objects (guard.py)

    @property
    def idp_manager(self) -> bool:
        return self.enabled and self.mode == "idp_manager"


@dataclass(frozen=True)
class Settings:
    provider: ProviderSettings
    users: UserSettings
    brand: BrandSettings
    flows: FlowsSettings
    session: SessionSettings
    email: EmailSettings
    offboarding: OffboardingSettings
    netbird: NetBirdSettings

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
    flows = data["flows"]
    return Settings(
        provider=ProviderSettings(**data["provider"]),
        users=UserSettings(**data["users"]),
        brand=BrandSettings(**data["brand"]),
        flows=FlowsSettings(name_prefix=flows["name_prefix"], **{
            key: FlowSettings(**value) for key, value in flows.items() if key != "name_prefix"}),
        session=SessionSettings(**data["session"]),
        email=EmailSettings(**data["email"]),
        offboarding=OffboardingSettings(**data["offboarding"]),
        netbird=_netbird(data["netbird"]))


def _netbird(data: dict[str, Any]) -> NetBirdSettings:
    uris = tuple(RedirectUri(u["url"], u.get("matching_mode", "strict")) for u in data["redirect_uris"])
    return NetBirdSettings(**{**data, "redirect_uris": uris})


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
    return problems


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
    settings = _build(with_defaults(data, load_schema(SCHEMA)))
    problems = _check_meaning(settings, file)
    return (None, problems) if problems else (settings, [])


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
