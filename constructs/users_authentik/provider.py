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

# App, TerraformOutput and TerraformStack are re-exported: the other modules take the CDK
# from here only, so this module is the project's whole CDK surface.
from cdktf import (App, TerraformDataSource, TerraformOutput, TerraformProvider,  # noqa: F401
                   TerraformProviderGeneratorMetadata, TerraformResource, TerraformStack)
from constructs import Construct


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

    def __init__(self, scope: Construct, name: str, config: Any, *, for_each: Expr | None = None,
                 ignore_changes: tuple[str, ...] = (), preconditions: tuple["Precondition", ...] = (),
                 prevent_destroy: bool = False):
        if not isinstance(config, self.CONFIG):
            raise TypeError(f"{type(self).__name__} takes a {self.CONFIG.__name__}")
        self._attrs = _attributes(config)
        self.address = f"{self.ADDRESS_PREFIX}{self.TYPE}.{name}"
        # Construct ids must be unique per scope across types; addresses only per type.
        super().__init__(scope, self.address, terraform_resource_type=self.TYPE)
        # Logical ids are resource addresses; set them exactly so a refactor of the
        # construct tree can never rename (and so re-create) anything.
        self.override_logical_id(name)
        if for_each is not None:
            self.add_override("for_each", for_each)
        if ignore_changes:
            self.add_override("lifecycle.ignore_changes", list(ignore_changes))
        if preconditions:
            self.add_override("lifecycle.precondition", [
                {"condition": p.condition, "error_message": p.error_message} for p in preconditions])
        if prevent_destroy:
            self.add_override("lifecycle.prevent_destroy", True)

    def _synthesize_attributes(self) -> dict[str, Any]:
        return self._attrs

    def ref(self, attribute: str) -> Expr:
        """`${type.name.attribute}`, for single (not for_each) elements."""
        return "${" + f"{self.address}.{attribute}" + "}"


@dataclass(frozen=True)
class Precondition:
    """A lifecycle precondition: when `condition` is false, the plan fails with `error_message`
    (unlike a `check` block, which only warns). Both are Terraform expressions/templates."""

    condition: Expr
    error_message: Str


class Resource(_Element, TerraformResource):
    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        RESOURCES[cls.TYPE] = cls


class DataSource(_Element, TerraformDataSource):
    ADDRESS_PREFIX = "data."

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        DATA_SOURCES[cls.TYPE] = cls


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
    name: Str | None = None  # exactly one of name and pk
    pk: Str | None = None  # the group's uuid
    include_users: Bool | None = None


class DataGroup(DataSource):
    TYPE = "authentik_group"
    CONFIG = DataGroupConfig


@dataclass(frozen=True)
class DataUserConfig:
    pk: Num | None = None  # exactly one of pk and username
    username: Str | None = None


class DataUser(DataSource):
    """Reads an account as Authentik has it (username, is_superuser, ...); never changes it."""
    TYPE = "authentik_user"
    CONFIG = DataUserConfig


# --- flows, stages, policies, brand ----------------------------------------------
# Flows are referenced by `uuid` (their `id` is the slug); everything else by `id`.

@dataclass(frozen=True)
class FlowConfig:
    name: Str
    slug: Str
    title: Str
    designation: Str
    authentication: Str | None = None
    policy_engine_mode: Str | None = None


class Flow(Resource):
    TYPE = "authentik_flow"
    CONFIG = FlowConfig


@dataclass(frozen=True)
class DataFlowConfig:
    slug: Str


class DataFlow(DataSource):
    """Looks up a flow Authentik ships (never changes it). Its `id` is the flow's uuid."""
    TYPE = "authentik_flow"
    CONFIG = DataFlowConfig


@dataclass(frozen=True)
class FlowStageBindingConfig:
    target: Str  # flow uuid
    stage: Str
    order: Num
    evaluate_on_plan: Bool | None = None
    re_evaluate_policies: Bool | None = None
    policy_engine_mode: Str | None = None
    invalid_response_action: Str | None = None


class FlowStageBinding(Resource):
    TYPE = "authentik_flow_stage_binding"
    CONFIG = FlowStageBindingConfig


@dataclass(frozen=True)
class PolicyExpressionConfig:
    name: Str
    expression: Str


class PolicyExpression(Resource):
    TYPE = "authentik_policy_expression"
    CONFIG = PolicyExpressionConfig


@dataclass(frozen=True)
class PolicyBindingConfig:
    # A flow-stage binding's id (policies bind to bindings, not stages), an application's
    # uuid, or an application entitlement's id.
    target: Str
    order: Num
    policy: Str | None = None
    group: Str | None = None  # bind a group (its uuid) instead of a policy
    user: Num | None = None  # bind a user (its pk) instead of a policy
    failure_result: Bool | None = None
    negate: Bool | None = None
    timeout: Num | None = None


class PolicyBinding(Resource):
    TYPE = "authentik_policy_binding"
    CONFIG = PolicyBindingConfig


@dataclass(frozen=True)
class StageIdentificationConfig:
    name: Str
    user_fields: StrList | None = None
    case_insensitive_matching: Bool | None = None
    pretend_user_exists: Bool | None = None
    show_matched_user: Bool | None = None
    passwordless_flow: Str | None = None  # flow uuid
    webauthn_stage: Str | None = None  # passkey autofill (conditional UI)
    recovery_flow: Str | None = None
    enrollment_flow: Str | None = None


class StageIdentification(Resource):
    TYPE = "authentik_stage_identification"
    CONFIG = StageIdentificationConfig


@dataclass(frozen=True)
class StageAuthenticatorValidateConfig:
    name: Str
    not_configured_action: Str
    device_classes: StrList | None = None
    configuration_stages: StrList | None = None
    webauthn_user_verification: Str | None = None
    last_auth_threshold: Str | None = None


class StageAuthenticatorValidate(Resource):
    TYPE = "authentik_stage_authenticator_validate"
    CONFIG = StageAuthenticatorValidateConfig


@dataclass(frozen=True)
class StageAuthenticatorWebauthnConfig:
    name: Str
    friendly_name: Str | None = None
    configure_flow: Str | None = None
    user_verification: Str | None = None
    resident_key_requirement: Str | None = None
    authenticator_attachment: Str | None = None
    prevent_duplicate_devices: Bool | None = None


class StageAuthenticatorWebauthn(Resource):
    TYPE = "authentik_stage_authenticator_webauthn"
    CONFIG = StageAuthenticatorWebauthnConfig


@dataclass(frozen=True)
class StageAuthenticatorTotpConfig:
    name: Str
    friendly_name: Str | None = None
    configure_flow: Str | None = None
    digits: Str | None = None


class StageAuthenticatorTotp(Resource):
    TYPE = "authentik_stage_authenticator_totp"
    CONFIG = StageAuthenticatorTotpConfig


@dataclass(frozen=True)
class StageAuthenticatorStaticConfig:
    name: Str
    friendly_name: Str | None = None
    configure_flow: Str | None = None
    token_count: Num | None = None


class StageAuthenticatorStatic(Resource):
    TYPE = "authentik_stage_authenticator_static"
    CONFIG = StageAuthenticatorStaticConfig


@dataclass(frozen=True)
class StagePasswordConfig:
    name: Str
    backends: StrList
    failed_attempts_before_cancel: Num | None = None


class StagePassword(Resource):
    TYPE = "authentik_stage_password"
    CONFIG = StagePasswordConfig


@dataclass(frozen=True)
class StageUserLoginConfig:
    name: Str
    session_duration: Str | None = None
    remember_me_offset: Str | None = None


class StageUserLogin(Resource):
    TYPE = "authentik_stage_user_login"
    CONFIG = StageUserLoginConfig


@dataclass(frozen=True)
class StageEmailConfig:
    name: Str
    use_global_settings: Bool | None = None  # SMTP from Authentik's own settings: no secret here
    template: Str | None = None
    subject: Str | None = None
    token_expiry: Str | None = None
    activate_user_on_success: Bool | None = None


class StageEmail(Resource):
    TYPE = "authentik_stage_email"
    CONFIG = StageEmailConfig


@dataclass(frozen=True)
class StagePromptFieldConfig:
    name: Str
    field_key: Str
    label: Str
    type: Str
    required: Bool | None = None
    placeholder: Str | None = None
    order: Num | None = None


class StagePromptField(Resource):
    TYPE = "authentik_stage_prompt_field"
    CONFIG = StagePromptFieldConfig


@dataclass(frozen=True)
class StagePromptConfig:
    name: Str
    fields: StrList


class StagePrompt(Resource):
    TYPE = "authentik_stage_prompt"
    CONFIG = StagePromptConfig


@dataclass(frozen=True)
class StageUserWriteConfig:
    name: Str
    user_creation_mode: Str | None = None
    create_users_as_inactive: Bool | None = None


class StageUserWrite(Resource):
    TYPE = "authentik_stage_user_write"
    CONFIG = StageUserWriteConfig


@dataclass(frozen=True)
class StageDenyConfig:
    name: Str
    deny_message: Str | None = None


class StageDeny(Resource):
    TYPE = "authentik_stage_deny"
    CONFIG = StageDenyConfig


@dataclass(frozen=True)
class BrandConfig:
    domain: Str
    default: Bool | None = None
    branding_title: Str | None = None
    branding_logo: Str | None = None
    branding_favicon: Str | None = None
    flow_authentication: Str | None = None
    flow_recovery: Str | None = None
    flow_invalidation: Str | None = None
    flow_user_settings: Str | None = None


class Brand(Resource):
    TYPE = "authentik_brand"
    CONFIG = BrandConfig


# --- applications (NetBird, netbird.py) -----------------------------------------

@dataclass(frozen=True)
class ProviderOauth2Config:
    name: Str
    client_id: Str
    authorization_flow: Str  # flow uuid
    invalidation_flow: Str  # flow uuid
    client_type: Str | None = None
    allowed_redirect_uris: list[dict[str, str]] | None = None  # [{"matching_mode", "url"}]
    signing_key: Str | None = None  # certificate-key pair id
    property_mappings: StrList | None = None  # scope mapping ids
    grant_types: StrList | None = None
    include_claims_in_id_token: Bool | None = None
    access_code_validity: Str | None = None
    sub_mode: Str | None = None


class ProviderOauth2(Resource):
    TYPE = "authentik_provider_oauth2"
    CONFIG = ProviderOauth2Config


@dataclass(frozen=True)
class ApplicationConfig:
    name: Str
    slug: Str
    protocol_provider: Num | None = None  # the provider's id
    policy_engine_mode: Str | None = None
    meta_launch_url: Str | None = None


class Application(Resource):
    """Referenced by `uuid` (bindings and entitlements target it)."""
    TYPE = "authentik_application"
    CONFIG = ApplicationConfig


@dataclass(frozen=True)
class ApplicationEntitlementConfig:
    name: Str
    application: Str  # application uuid


class ApplicationEntitlement(Resource):
    TYPE = "authentik_application_entitlement"
    CONFIG = ApplicationEntitlementConfig


@dataclass(frozen=True)
class TokenConfig:
    identifier: Str
    user: Num  # user pk
    intent: Str | None = None
    description: Str | None = None
    expiring: Bool | None = None
    retrieve_key: Bool | None = None  # makes `key` readable (an output, never a file)


class Token(Resource):
    TYPE = "authentik_token"
    CONFIG = TokenConfig


@dataclass(frozen=True)
class DataCertificateKeyPairConfig:
    name: Str
    fetch_certificate: Bool | None = None
    fetch_key: Bool | None = None


class DataCertificateKeyPair(DataSource):
    TYPE = "authentik_certificate_key_pair"
    CONFIG = DataCertificateKeyPairConfig


@dataclass(frozen=True)
class DataPropertyMappingProviderScopeConfig:
    managed_list: StrList


class DataPropertyMappingProviderScope(DataSource):
    """Looks up Authentik's own scope mappings by their `managed` ids; `ids` lists them."""
    TYPE = "authentik_property_mapping_provider_scope"
    CONFIG = DataPropertyMappingProviderScopeConfig
