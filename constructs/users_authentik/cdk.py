"""The project's whole CDK surface, and the only module that imports cdktf: the provider
block, and the base classes the generated binding (binding.py) builds its resources and
data sources on.

The binding is generated rather than written by hand (tools/gen_binding.py, from the
vendored provider schema facts), because `cdktf get` needs network access and a provider
download. A value is either a literal or a Terraform expression string ("${...}").
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Union

# App, TerraformOutput and TerraformStack are re-exported: the other modules take the CDK
# from here only.
from cdktf import (App, TerraformDataSource, TerraformOutput, TerraformProvider,  # noqa: F401
                   TerraformProviderGeneratorMetadata, TerraformResource, TerraformResourceLifecycle,
                   TerraformStack)
from cdktf import Precondition as TerraformPrecondition
from constructs import Construct

PROVIDER_SOURCE = "goauthentik/authentik"

# The value types of the binding's fields: a literal of the provider's type, or an expression.
Expr = str  # a Terraform expression such as "${each.value.name}"
Str = str
Bool = Union[bool, Expr]
Num = Union[int, Expr]
StrList = Union[list[str], Expr]
NumList = Union[list[int], Expr]
StrMap = Union[dict[str, str], Expr]
StrMapList = Union[list[dict[str, str]], Expr]



def _is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")

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


@dataclass(frozen=True)
class Precondition:
    """A lifecycle precondition: when `condition` is false, the plan fails with `error_message`
    (unlike a `check` block, which only warns). Both are Terraform expressions/templates."""

    condition: Expr
    error_message: Str


class _Element:
    """Shared by resources and data sources: exact logical ids, `for_each` as an expression
    (per-user data stays out of jsii; see synth.py), and the schema's checks a dataclass
    cannot make (enumerations, which attributes a reference may read)."""

    TYPE: ClassVar[str]
    CONFIG: ClassVar[type]
    ALLOWED: ClassVar[dict[str, tuple[str, ...]]] = {}  # attribute -> the provider's enumeration
    ATTRIBUTES: ClassVar[frozenset[str]] = frozenset()  # every attribute, read-only ones included
    ADDRESS_PREFIX: ClassVar[str] = ""

    def __init__(self, scope: Construct, name: str, config: Any, *, for_each: Expr | None = None,
                 ignore_changes: tuple[str, ...] = (), preconditions: tuple[Precondition, ...] = (),
                 prevent_destroy: bool = False):
        if not isinstance(config, self.CONFIG):
            raise TypeError(f"{type(self).__name__} takes a {self.CONFIG.__name__}")
        self._attrs = {f.name: getattr(config, f.name) for f in fields(config) if getattr(config, f.name) is not None}
        for key, allowed in self.ALLOWED.items():
            value = self._attrs.get(key)
            if value is not None and value not in allowed and not _is_expression(value):
                raise ValueError(f"{self.TYPE}.{name}: {key} = {value!r} is not one of {', '.join(allowed)}")
        self.address = f"{self.ADDRESS_PREFIX}{self.TYPE}.{name}"
        lifecycle = None
        if ignore_changes or preconditions or prevent_destroy:
            # cdktf's own lifecycle argument: part of the create call, no round trip of its own.
            lifecycle = TerraformResourceLifecycle(
                ignore_changes=list(ignore_changes) or None, prevent_destroy=prevent_destroy or None,
                precondition=[TerraformPrecondition(condition=p.condition, error_message=p.error_message)
                              for p in preconditions] or None)
        # Construct ids must be unique per scope across types; addresses only per type.
        super().__init__(scope, self.address, terraform_resource_type=self.TYPE, lifecycle=lifecycle)
        # Logical ids are resource addresses; set them exactly so a refactor of the
        # construct tree can never rename (and so re-create) anything.
        self.override_logical_id(name)
        if for_each is not None:
            self.add_override("for_each", for_each)

    def _synthesize_attributes(self) -> dict[str, Any]:
        return self._attrs

    def ref(self, attribute: str) -> Expr:
        """`${type.name.attribute}`, for single (not for_each) elements."""
        if attribute not in self.ATTRIBUTES:
            raise AttributeError(f"{self.TYPE} has no attribute {attribute!r}")
        return "${" + f"{self.address}.{attribute}" + "}"


class Resource(_Element, TerraformResource):
    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        RESOURCES[cls.TYPE] = cls


class DataSource(_Element, TerraformDataSource):
    ADDRESS_PREFIX = "data."

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        DATA_SOURCES[cls.TYPE] = cls
