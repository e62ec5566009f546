"""The settings' types: settings.json (schemas/settings.schema.json) as typed values.

Defaults live in the schema (its `default` keywords), so the schema documents every
setting and its default, and this module only gives them typed names. Reading and checking
settings.json is settings_file.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .schema_check import load_schema

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
        return cls.from_document({})

    @classmethod
    def from_document(cls, data: dict[str, Any]) -> "Settings":
        """settings.json as parsed and checked against the schema (no "$schema" key), its
        missing keys filled from the schema's defaults."""
        return _build(with_defaults(data, load_schema(SCHEMA)))


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
