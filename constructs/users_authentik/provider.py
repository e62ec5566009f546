"""The typed binding for the goauthentik/authentik provider, and the only module that
imports cdktf (so the CDK surface the rest of the code sees stays small).

`cdktf get` needs network access and a provider download, so instead of generated
bindings this module declares one class per resource or data source the project uses,
each with a frozen `...Config` dataclass whose fields are the provider's attribute names.
tests/test_provider_schema.py checks every class and every synthesized attribute against
the vendored schema facts of the pinned provider version.

A value is either a literal or a Terraform expression string ("${...}").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Union

from cdktf import (App, TerraformDataSource, TerraformOutput, TerraformProvider,
                   TerraformProviderGeneratorMetadata, TerraformResource, TerraformStack)
from constructs import Construct

__all__ = ["App", "Construct", "TerraformOutput", "TerraformStack", "AuthentikProvider",
           "Resource", "DataSource", "RESOURCES", "DATA_SOURCES",
           "User", "UserConfig", "Group", "GroupConfig", "DataGroup", "DataGroupConfig"]

PROVIDER_SOURCE = "goauthentik/authentik"

Expr = str  # a Terraform expression such as "${each.value.name}"
Str = str
Bool = Union[bool, Expr]
Num = Union[int, Expr]
StrList = Union[list[str], Expr]

RESOURCES: dict[str, type["Resource"]] = {}
DATA_SOURCES: dict[str, type["DataSource"]] = {}


class AuthentikProvider(TerraformProvider):
    """An empty provider block: url and token come from AUTHENTIK_URL / AUTHENTIK_TOKEN,
    so no credential is ever written into generated/."""

    def __init__(self, scope: Construct, id: str, *, version: str):
        super().__init__(scope, id, terraform_resource_type="authentik",
                         terraform_provider_source=PROVIDER_SOURCE,
                         terraform_generator_metadata=TerraformProviderGeneratorMetadata(
                             provider_name="authentik", provider_version_constraint=version))

    def _synthesize_attributes(self) -> dict[str, Any]:
        return {}


def _attributes(config: Any) -> dict[str, Any]:
    return {f.name: getattr(config, f.name) for f in fields(config)
            if getattr(config, f.name) is not None}


class _Element:
    """Shared by resources and data sources: exact logical ids and `for_each` as an
    expression (per-user data stays out of jsii; see synth.py)."""

    TYPE: ClassVar[str]
    CONFIG: ClassVar[type]
    ADDRESS_PREFIX: ClassVar[str] = ""

    def _setup(self, id: str, config: Any, for_each: Expr | None) -> None:
        if not isinstance(config, self.CONFIG):
            raise TypeError(f"{type(self).__name__} takes a {self.CONFIG.__name__}")
        self._attrs = _attributes(config)
        # Logical ids are resource addresses; set them exactly so a refactor of the
        # construct tree can never rename (and so re-create) anything.
        self.override_logical_id(id)
        self.address = f"{self.ADDRESS_PREFIX}{self.TYPE}.{id}"
        if for_each is not None:
            self.add_override("for_each", for_each)

    def _synthesize_attributes(self) -> dict[str, Any]:
        return self._attrs

    def ref(self, attribute: str) -> Expr:
        """`${type.name.attribute}`, for single (not for_each) elements."""
        return "${" + f"{self.address}.{attribute}" + "}"


class Resource(_Element, TerraformResource):
    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        RESOURCES[cls.TYPE] = cls

    def __init__(self, scope: Construct, id: str, config: Any, *, for_each: Expr | None = None):
        TerraformResource.__init__(self, scope, id, terraform_resource_type=self.TYPE)
        self._setup(id, config, for_each)


class DataSource(_Element, TerraformDataSource):
    ADDRESS_PREFIX = "data."

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        DATA_SOURCES[cls.TYPE] = cls

    def __init__(self, scope: Construct, id: str, config: Any, *, for_each: Expr | None = None):
        TerraformDataSource.__init__(self, scope, id, terraform_resource_type=self.TYPE)
        self._setup(id, config, for_each)


# --- users and groups -------------------------------------------------------------

@dataclass(frozen=True)
class UserConfig:
    username: Str
    name: Str | None = None
    email: Str | None = None
    is_active: Bool | None = None
    path: Str | None = None
    type: Str | None = None
    groups: StrList | None = None  # group uuids; membership is set on the user side only


class User(Resource):
    TYPE = "authentik_user"
    CONFIG = UserConfig


@dataclass(frozen=True)
class GroupConfig:
    name: Str
    attributes: Str | None = None  # JSON text
    is_superuser: Bool | None = None


class Group(Resource):
    TYPE = "authentik_group"
    CONFIG = GroupConfig


@dataclass(frozen=True)
class DataGroupConfig:
    name: Str
    include_users: Bool | None = None


class DataGroup(DataSource):
    TYPE = "authentik_group"
    CONFIG = DataGroupConfig
