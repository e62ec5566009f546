"""The sign-in flows in the synthesized module (issue 3, docs/flows.md): each flow's stage
chain read from the bindings, the settings that make it passkey-first, the settings.json
knobs that shape it, the settings it refuses, and that every reference in the module
points at something that exists and exports the attribute used."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.helpers import ROOT, copy_project, module, read_json, run_main, tree_digest, write_json
from users_authentik.cli import main
from users_authentik.settings import Settings

FACTS = read_json(ROOT / "schemas" / "vendor" / "authentik-provider" / "schema-v2026.5.0.json")
DEFAULTS = Settings.defaults()
P = DEFAULTS.flows.name_prefix  # "users-authentik"


# --- reading the module -----------------------------------------------------------------

REF = re.compile(r"^\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$")


def deref(mod: dict[str, Any], value: str) -> tuple[str, str, dict[str, Any]]:
    """`${type.name.attr}` -> (type, name, body) of the element it names (must exist)."""
    match = REF.match(value)
    assert match, f"not a plain reference: {value!r}"
    data, rtype, name, _attr = match.groups()
    return rtype, name, mod["data" if data else "resource"][rtype][name]


def flow_ref(key: str) -> str:
    return "${authentik_flow." + key + ".uuid}"


def bindings_of(mod: dict[str, Any], flow_key: str) -> list[tuple[str, dict[str, Any]]]:
    """(binding name, body) of every stage binding targeting the flow, in `order`."""
    found = [(name, body) for name, body in mod["resource"]["authentik_flow_stage_binding"].items()
             if body["target"] == flow_ref(flow_key)]
    return sorted(found, key=lambda item: item[1]["order"])


def chain(mod: dict[str, Any], flow_key: str) -> list[tuple[str, str]]:
    """The flow's stages in order as (stage type without `authentik_stage_`, stage name)."""
    out = []
    for _, binding in bindings_of(mod, flow_key):
        rtype, _, stage = deref(mod, binding["stage"])
        out.append((rtype.removeprefix("authentik_stage_"), stage["name"]))
    return out


def stage_at(mod: dict[str, Any], flow_key: str, position: int) -> dict[str, Any]:
    _, binding = bindings_of(mod, flow_key)[position]
    return deref(mod, binding["stage"])[2]


def binding_named(mod: dict[str, Any], flow_key: str, stage_type: str) -> tuple[str, dict[str, Any]]:
    for name, body in bindings_of(mod, flow_key):
        if deref(mod, body["stage"])[0] == f"authentik_stage_{stage_type}":
            return name, body
    raise AssertionError(f"{flow_key} binds no {stage_type} stage")


def policies_on(mod: dict[str, Any], binding_name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(policy binding, policy) pairs whose target is the flow-stage binding."""
    target = "${authentik_flow_stage_binding." + binding_name + ".id}"
    return [(pb, deref(mod, pb["policy"])[2])
            for pb in mod["resource"].get("authentik_policy_binding", {}).values() if pb["target"] == target]


@pytest.fixture(scope="module")
def mod(example_module: Path) -> dict[str, Any]:
    return module(example_module)


# --- stage chains -------------------------------------------------------------------------

EXPECTED_CHAINS = {
    # Passwordless: WebAuthn challenge -> session.
    "passwordless": [("authenticator_validate", f"{P}-passkey"), ("user_login", f"{P}-login")],
    # Password + MFA: identification (passkey autofill) -> password -> TOTP/WebAuthn/static -> session.
    "login": [("identification", f"{P}-identification"), ("password", f"{P}-password"),
              ("authenticator_validate", f"{P}-mfa"), ("user_login", f"{P}-login")],
    # Enrollment of a pre-created user: email link -> existing device, if any -> stop if
    # suspended -> password x2 -> passkey -> TOTP -> session.
    "enrollment": [("identification", f"{P}-enrollment-identification"), ("email", f"{P}-enrollment-email"),
                   ("authenticator_validate", f"{P}-existing-device"), ("deny", f"{P}-suspended"),
                   ("prompt", f"{P}-new-password"), ("user_write", f"{P}-update-user"),
                   ("authenticator_webauthn", f"{P}-webauthn-setup"), ("authenticator_totp", f"{P}-totp-setup"),
                   ("user_login", f"{P}-login")],
    # Recovery: email identification -> recovery email -> existing device, if any -> stop if
    # suspended -> new password x2 -> session.
    "recovery": [("identification", f"{P}-recovery-identification"), ("email", f"{P}-recovery-email"),
                 ("authenticator_validate", f"{P}-existing-device"), ("deny", f"{P}-suspended"),
                 ("prompt", f"{P}-new-password"), ("user_write", f"{P}-update-user"), ("user_login", f"{P}-login")],
    "webauthn_setup": [("authenticator_webauthn", f"{P}-webauthn-setup")],
    "totp_setup": [("authenticator_totp", f"{P}-totp-setup")],
    "static_setup": [("authenticator_static", f"{P}-static-setup")],
}

EXPECTED_FLOWS = {  # key: (designation, authentication)
    "passwordless": ("authentication", "require_unauthenticated"),
    "login": ("authentication", "require_unauthenticated"),
    "enrollment": ("enrollment", "require_unauthenticated"),
    "recovery": ("recovery", "require_unauthenticated"),
    "webauthn_setup": ("stage_configuration", "require_authenticated"),
    "totp_setup": ("stage_configuration", "require_authenticated"),
    "static_setup": ("stage_configuration", "require_authenticated"),
}


@pytest.mark.parametrize("flow_key", sorted(EXPECTED_CHAINS))
def test_stage_chain(mod: dict[str, Any], flow_key: str) -> None:
    assert chain(mod, flow_key) == EXPECTED_CHAINS[flow_key]


def test_no_binding_is_left_over(mod: dict[str, Any]) -> None:
    """Every stage binding belongs to one of the module's flows (nothing bound elsewhere)."""
    targets = {b["target"] for b in mod["resource"]["authentik_flow_stage_binding"].values()}
    assert targets == {flow_ref(k) for k in EXPECTED_CHAINS}


@pytest.mark.parametrize("flow_key", sorted(EXPECTED_FLOWS))
def test_flow_designation_and_slug(mod: dict[str, Any], flow_key: str) -> None:
    flow = mod["resource"]["authentik_flow"][flow_key]
    assert (flow["designation"], flow["authentication"]) == EXPECTED_FLOWS[flow_key]
    own = getattr(DEFAULTS.flows, flow_key)
    assert (flow["slug"], flow["title"], flow["name"]) == (own.slug, own.title, own.title)


def test_flows_are_exactly_the_module_flows(mod: dict[str, Any]) -> None:
    assert set(mod["resource"]["authentik_flow"]) == set(EXPECTED_FLOWS) == set(DEFAULTS.flows.all())
    slugs = [f["slug"] for f in mod["resource"]["authentik_flow"].values()]
    assert len(slugs) == len(set(slugs))


@pytest.mark.parametrize("flow_key", sorted(EXPECTED_CHAINS))
def test_bindings_have_unique_orders_and_explicit_evaluation(mod: dict[str, Any], flow_key: str) -> None:
    """Unique orders (two bindings at one order looped passkey logins, authentik#15890); both
    evaluation flags set, since the provider's defaults differ from Authentik's, and never both
    false (the API refuses that)."""
    bindings = bindings_of(mod, flow_key)
    orders = [b["order"] for _, b in bindings]
    assert len(orders) == len(set(orders)), orders
    for name, body in bindings:
        assert isinstance(body["evaluate_on_plan"], bool) and isinstance(body["re_evaluate_policies"], bool), name
        assert body["evaluate_on_plan"] or body["re_evaluate_policies"], name


def test_login_and_passwordless_policies_run_when_the_stage_is_reached(mod: dict[str, Any]) -> None:
    """The skip policies read what identification did (auth_method, pending_user): they only
    see it when evaluated at run time, not when the flow is planned."""
    for flow_key in ("login", "passwordless"):
        for name, body in bindings_of(mod, flow_key):
            assert (body["evaluate_on_plan"], body["re_evaluate_policies"]) == (False, True), name


# --- passwordless ---------------------------------------------------------------------

def test_passwordless_is_webauthn_only_with_user_verification(mod: dict[str, Any]) -> None:
    passkey = stage_at(mod, "passwordless", 0)
    assert passkey["device_classes"] == ["webauthn"]
    assert passkey["webauthn_user_verification"] == "required"
    assert passkey["not_configured_action"] == "deny"  # no known user to set a device up for
    assert policies_on(mod, bindings_of(mod, "passwordless")[0][0]) == []


# --- login page: passkey first, password + MFA fallback ----------------------------------

def test_identification_puts_passkeys_first_and_links_the_other_flows(mod: dict[str, Any]) -> None:
    ident = stage_at(mod, "login", 0)
    assert ident["passwordless_flow"] == flow_ref("passwordless")
    assert ident["recovery_flow"] == flow_ref("recovery")
    assert ident["enrollment_flow"] == flow_ref("enrollment")
    # Passkey autofill (conditional UI) on the username field uses the passwordless stage.
    assert ident["webauthn_stage"] == "${authentik_stage_authenticator_validate.passkey.id}"
    assert ident["webauthn_stage"] == bindings_of(mod, "passwordless")[0][1]["stage"]
    assert ident["user_fields"] == ["email", "username"]
    # No inline password stage: it breaks a later WebAuthn MFA challenge (authentik#25064).
    assert "password_stage" not in ident


def test_password_stage_uses_the_inbuilt_backend_only(mod: dict[str, Any]) -> None:
    assert stage_at(mod, "login", 1)["backends"] == ["authentik.core.auth.InbuiltBackend"]


def test_mfa_offers_totp_webauthn_static_and_sends_users_without_one_to_set_up(mod: dict[str, Any]) -> None:
    mfa = stage_at(mod, "login", 2)
    assert sorted(mfa["device_classes"]) == ["static", "totp", "webauthn"]
    assert mfa["not_configured_action"] == "configure"
    setup = [deref(mod, ref) for ref in mfa["configuration_stages"]]
    assert [(t, n) for t, n, _ in setup] == [("authentik_stage_authenticator_webauthn", "webauthn_setup"),
                                             ("authentik_stage_authenticator_totp", "totp_setup")]
    # The same stages the enrollment flow binds.
    assert [stage for _, _, stage in setup] == [stage_at(mod, "enrollment", 6), stage_at(mod, "enrollment", 7)]


def test_password_and_mfa_are_skipped_after_a_passkey(mod: dict[str, Any]) -> None:
    password_binding, _ = binding_named(mod, "login", "password")
    mfa_binding, _ = binding_named(mod, "login", "authenticator_validate")
    [(pb, policy)] = policies_on(mod, password_binding)
    assert 'hasattr(flow_plan.context.get("pending_user"), "backend")' in policy["expression"]
    assert "return not " in policy["expression"]
    assert pb["failure_result"] is True  # an error in the policy runs the stage
    [(pb, policy)] = policies_on(mod, mfa_binding)
    assert 'flow_plan.context.get("auth_method") == "auth_webauthn_pwl"' in policy["expression"]
    assert "return not " in policy["expression"]
    assert pb["failure_result"] is True
    # Nothing else in the login flow is conditional.
    for name, _ in bindings_of(mod, "login"):
        if name not in (password_binding, mfa_binding):
            assert policies_on(mod, name) == [], name


def test_policy_expressions_compile(mod: dict[str, Any]) -> None:
    """Authentik runs expression policies as a function body: they must at least parse."""
    for name, policy in mod["resource"]["authentik_policy_expression"].items():
        body = "def policy(request, context):\n" + "".join(
            f"    {line}\n" for line in policy["expression"].splitlines())
        compile(body, name, "exec")


# --- enrollment and recovery ----------------------------------------------------------

def test_enrollment_identifies_existing_people_by_email(mod: dict[str, Any]) -> None:
    ident = stage_at(mod, "enrollment", 0)
    assert ident["user_fields"] == ["email"]
    # A pretended user would get no mail and stall; people are pre-created by users.json.
    assert ident["pretend_user_exists"] is False
    assert stage_at(mod, "enrollment", 5)["user_creation_mode"] == "never_create"


def test_passkey_setup_requires_a_discoverable_verified_credential(mod: dict[str, Any]) -> None:
    webauthn = stage_at(mod, "enrollment", 6)
    assert webauthn["resident_key_requirement"] == "required"
    assert webauthn["user_verification"] == "required"
    assert "authenticator_attachment" not in webauthn  # phones, laptops and security keys alike


def test_setup_stages_point_at_their_own_setup_flows(mod: dict[str, Any]) -> None:
    for flow_key in ("webauthn_setup", "totp_setup", "static_setup"):
        assert stage_at(mod, flow_key, 0)["configure_flow"] == flow_ref(flow_key)
    assert stage_at(mod, "totp_setup", 0)["digits"] == "6"


def test_recovery_identifies_by_email_and_pretends_unknown_users_exist(mod: dict[str, Any]) -> None:
    ident = stage_at(mod, "recovery", 0)
    assert ident["user_fields"] == ["email"]
    assert ident["pretend_user_exists"] is True  # no account probing through the reset page


@pytest.mark.parametrize("flow_key,template,expiry,subject", [
    ("recovery", "email/password_reset.html", DEFAULTS.email.recovery_token_expiry, DEFAULTS.email.recovery_subject),
    ("enrollment", "email/account_confirmation.html", DEFAULTS.email.enrollment_token_expiry,
     DEFAULTS.email.enrollment_subject),
])
def test_email_link_expires_per_settings(mod: dict[str, Any], flow_key: str, template: str, expiry: str,
                                         subject: str) -> None:
    email = stage_at(mod, flow_key, 1)
    assert email["template"] == template
    assert email["token_expiry"] == expiry
    assert email["subject"] == subject
    assert email["use_global_settings"] is True  # no SMTP secret in the module


def test_token_expiry_defaults_are_the_documented_ones() -> None:
    # The recovery blueprint's 30 minutes; a set-up link waits a day.
    assert (DEFAULTS.email.recovery_token_expiry, DEFAULTS.email.enrollment_token_expiry) == ("minutes=30", "hours=24")


@pytest.mark.parametrize("flow_key", ["recovery", "enrollment"])
def test_an_emailed_link_never_reactivates_a_suspended_person(mod: dict[str, Any], flow_key: str) -> None:
    """users.json owns `active`. Identification finds inactive accounts too, so an email stage
    with activate_user_on_success would let a person suspended there switch themselves back
    on through "forgot password" (and log in) until the next apply reverts it."""
    email = stage_at(mod, flow_key, 1)
    assert email["activate_user_on_success"] is False
    assert all(body.get("activate_user_on_success") is not True
               for body in mod["resource"]["authentik_stage_email"].values())


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    """Run an expression policy as Authentik does: the body of a function whose `request`
    has the policy request's `context` (authentik/policies/expression/evaluator.py,
    set_policy_request)."""
    request = type("PolicyRequest", (), {"context": context})()
    body = "def policy(request):\n" + "".join(f"    {line}\n" for line in expression.splitlines())
    scope: dict[str, Any] = {}
    exec(compile(body, "expression", "exec"), scope)  # noqa: S102 (the module's own literal)
    return scope["policy"](request)


class FakeUser:
    def __init__(self, is_active: bool):
        self.is_active = is_active


# The plan context of each way into recovery/enrollment when the binding's policy runs.
ANONYMOUS_START = {}  # the login page's link: nobody known yet
ADMIN_LINK = {"pending_user": FakeUser(True), "is_restored": object()}  # planned with pending_user


@pytest.mark.parametrize("flow_key", ["recovery", "enrollment"])
def test_identification_is_skipped_exactly_when_the_flow_knows_the_person(mod: dict[str, Any], flow_key: str) -> None:
    """A passing policy keeps a stage. The old test (`is_restored`, default True) passed at
    planning too, so the admin's recovery link still asked for the email."""
    name, binding = bindings_of(mod, flow_key)[0]
    assert deref(mod, binding["stage"])[0] == "authentik_stage_identification"
    assert (binding["evaluate_on_plan"], binding["re_evaluate_policies"]) == (True, True)
    [(pb, policy)] = policies_on(mod, name)
    assert policy["expression"] == 'return "pending_user" not in request.context\n'
    assert pb["failure_result"] is True and not pb.get("negate", False)
    assert evaluate(policy["expression"], ANONYMOUS_START) is True  # asked who you are
    assert evaluate(policy["expression"], ADMIN_LINK) is False  # skipped: straight to the device check
    assert evaluate(policy["expression"], {"pending_user": FakeUser(True)}) is False


@pytest.mark.parametrize("flow_key", ["recovery", "enrollment"])
def test_a_suspended_person_is_stopped_after_the_link_and_before_the_password(mod: dict[str, Any],
                                                                              flow_key: str) -> None:
    """`active: false` must not let recovery (or enrollment) store a password that becomes
    valid on re-activation. After the link (20) and device check (21), so the refusal says
    nothing to someone who only knows an address; before the password prompt (30)."""
    name, binding = binding_named(mod, flow_key, "deny")
    orders = [body["order"] for _, body in bindings_of(mod, flow_key)]
    assert binding["order"] == 22 and orders[orders.index(22) - 1] == 21 and orders[orders.index(22) + 1] == 30
    # Evaluated when reached: pending_user is only known then.
    assert (binding["evaluate_on_plan"], binding["re_evaluate_policies"]) == (False, True)
    stage = deref(mod, binding["stage"])[2]
    assert stage["name"] == f"{P}-suspended"
    assert "suspended" in stage["deny_message"] and "administrator" in stage["deny_message"]
    [(pb, policy)] = policies_on(mod, name)
    assert policy["expression"] == 'u = request.context.get("pending_user")\nreturn u is not None and not u.is_active\n'
    assert pb["failure_result"] is True and not pb.get("negate", False)  # an error denies
    assert evaluate(policy["expression"], {"pending_user": FakeUser(False)}) is True  # deny runs
    assert evaluate(policy["expression"], {"pending_user": FakeUser(True)}) is False  # passes on
    assert evaluate(policy["expression"], ANONYMOUS_START) is False
    # One deny stage, shared by both flows.
    assert binding["stage"] == binding_named(mod, "recovery" if flow_key == "enrollment" else "enrollment", "deny")[1]["stage"]


def test_only_identification_and_the_suspended_check_are_conditional(mod: dict[str, Any]) -> None:
    for flow_key in ("recovery", "enrollment"):
        conditional = {deref(mod, body["stage"])[0] for name, body in bindings_of(mod, flow_key) if policies_on(mod, name)}
        assert conditional == {"authentik_stage_identification", "authentik_stage_deny"}, flow_key


def test_policy_expressions_avoid_template_syntax(mod: dict[str, Any]) -> None:
    """Terraform would read `${` or `%{` in an expression as a template."""
    for policy in mod["resource"]["authentik_policy_expression"].values():
        assert "${" not in policy["expression"] and "%{" not in policy["expression"]


def test_every_passkey_setup_stage_allows_a_second_key_of_the_same_model(mod: dict[str, Any]) -> None:
    """prevent_duplicate_devices (provider default true) also refuses a key whose attestation
    certificate matches any user's device: keys of one model share it."""
    stages = mod["resource"]["authentik_stage_authenticator_webauthn"]
    assert stages and all(body["prevent_duplicate_devices"] is False for body in stages.values())
    facts = FACTS["resources"]["authentik_stage_authenticator_webauthn"][""]["prevent_duplicate_devices"]
    assert (facts["type"], facts.get("default")) == ("Boolean", "true")


def test_new_password_is_entered_twice(mod: dict[str, Any]) -> None:
    prompt = stage_at(mod, "recovery", 4)
    assert prompt is stage_at(mod, "enrollment", 4)
    fields = [deref(mod, ref)[2] for ref in prompt["fields"]]
    assert [(f["field_key"], f["type"], f["required"]) for f in fields] == [
        ("password", "password", True), ("password_repeat", "password", True)]
    # Authentik compares all password-type fields of one prompt stage: they must be equal.
    assert sum(f["type"] == "password" for f in fields) == 2
    assert stage_at(mod, "recovery", 5)["user_creation_mode"] == "never_create"


def test_every_flow_ends_in_a_session_from_settings(mod: dict[str, Any]) -> None:
    for flow_key in ("passwordless", "login", "enrollment", "recovery"):
        login = stage_at(mod, flow_key, -1)
        assert login["session_duration"] == DEFAULTS.session.duration == "hours=12"
        assert login["remember_me_offset"] == DEFAULTS.session.remember_me_offset


# --- brand ------------------------------------------------------------------------------

def test_brand_sends_the_domain_to_the_module_flows(mod: dict[str, Any]) -> None:
    [brand] = mod["resource"]["authentik_brand"].values()
    assert brand["domain"] == DEFAULTS.brand.domain == "auth.example.com"
    assert brand["default"] is False  # authentik-default stays the default brand
    assert brand["flow_authentication"] == flow_ref("login")
    assert brand["flow_recovery"] == flow_ref("recovery")
    # Logout and user settings: Authentik's own flows, looked up by slug, not managed.
    assert deref(mod, brand["flow_user_settings"])[2] == {"slug": "default-user-settings-flow"}
    assert deref(mod, brand["flow_invalidation"])[2] == {"slug": "default-invalidation-flow"}
    assert brand["flow_user_settings"].startswith("${data.authentik_flow.")
    assert brand["flow_invalidation"].startswith("${data.authentik_flow.")


# --- Authentik's defaults are read, never managed -------------------------------------------

def default_touch_errors(mod: dict[str, Any]) -> list[str]:
    errors = []
    for rtype, named in mod.get("resource", {}).items():
        for name, body in named.items():
            for key in ("slug", "name"):
                value = body.get(key)
                if isinstance(value, str) and value.startswith("default-"):
                    errors.append(f"{rtype}.{name}.{key} = {value!r} is an Authentik default's")
    for block in ("import", "moved"):
        if mod.get(block):
            errors.append(f"{block} blocks present")
    looked_up = {body.get("slug") for body in mod.get("data", {}).get("authentik_flow", {}).values()}
    managed = {body["slug"] for body in mod.get("resource", {}).get("authentik_flow", {}).values()}
    if looked_up & managed:
        errors.append(f"flows both looked up and managed: {sorted(looked_up & managed)}")
    return errors


def test_no_resource_touches_authentik_defaults(mod: dict[str, Any]) -> None:
    assert default_touch_errors(mod) == []
    # The defaults the brand needs are data lookups only.
    assert {b["slug"] for b in mod["data"]["authentik_flow"].values()} == {
        "default-user-settings-flow", "default-invalidation-flow"}


def test_default_checker_catches_a_default_flow() -> None:
    bad = {"resource": {"authentik_flow": {"x": {"slug": "default-authentication-flow"}},
                        "authentik_stage_password": {"y": {"name": "default-authentication-password"}}},
           "data": {"authentik_flow": {"z": {"slug": "default-authentication-flow"}}},
           "import": [{"to": "authentik_flow.x", "id": "default-authentication-flow"}]}
    errors = default_touch_errors(bad)
    assert len(errors) == 4, errors


# --- every reference resolves -----------------------------------------------------------

# Which element an attribute must point at: (block, type regex, attribute). Flows are
# referenced by uuid (a managed flow's id is its slug); a data-source flow's id is its uuid.
FLOW = [("resource", r"authentik_flow", "uuid"), ("data", r"authentik_flow", "id")]
STAGE = [("resource", r"authentik_stage_(?!prompt_field$)\w+", "id")]
ROLES: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("authentik_flow_stage_binding", "target"): [("resource", r"authentik_flow", "uuid")],
    ("authentik_flow_stage_binding", "stage"): STAGE,
    ("authentik_policy_binding", "target"): [("resource", r"authentik_flow_stage_binding", "id")],
    ("authentik_policy_binding", "policy"): [("resource", r"authentik_policy_(?!binding$)\w+", "id")],
    ("authentik_stage_identification", "passwordless_flow"): FLOW,
    ("authentik_stage_identification", "recovery_flow"): FLOW,
    ("authentik_stage_identification", "enrollment_flow"): FLOW,
    ("authentik_stage_identification", "webauthn_stage"): [
        ("resource", r"authentik_stage_authenticator_validate", "id")],
    ("authentik_stage_authenticator_validate", "configuration_stages"): [
        ("resource", r"authentik_stage_authenticator_\w+", "id")],
    ("authentik_stage_prompt", "fields"): [("resource", r"authentik_stage_prompt_field", "id")],
    ("authentik_brand", "flow_authentication"): FLOW,
    ("authentik_brand", "flow_recovery"): FLOW,
    ("authentik_brand", "flow_invalidation"): FLOW,
    ("authentik_brand", "flow_user_settings"): FLOW,
}
for _setup in ("webauthn", "totp", "static"):
    ROLES[(f"authentik_stage_authenticator_{_setup}", "configure_flow")] = FLOW

# A reference inside an interpolation: [data.]TYPE.NAME[index][.attr]
ELEMENT = re.compile(r"(?<![\w.])(data\.)?(authentik_\w+)\.([A-Za-z_][\w-]*)(\[[^\]]*\])?(?:\.([A-Za-z_]\w*))?")
LOCAL = re.compile(r"(?<![\w.])local\.(\w+)")
EACH = re.compile(r"(?<![\w.])each\.")


def interpolations(text: str) -> Iterator[str]:
    """The bodies of `${...}` in a string (nested braces and quoted strings allowed)."""
    i = 0
    while (start := text.find("${", i)) != -1:
        if start > 0 and text[start - 1] == "$":  # $${ is a literal
            i = start + 2
            continue
        depth, j, quote = 0, start + 1, False
        while j < len(text):
            ch = text[j]
            if quote:
                if ch == "\\":
                    j += 1
                elif ch == '"':
                    quote = False
            elif ch == '"':
                quote = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield text[start + 2:j]
        i = j + 1


def strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, value in enumerate(node):
            yield from strings(value, f"{path}[{n}]")


def reference_errors(mod: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    elements = {"resource": mod.get("resource", {}), "data": mod.get("data", {})}
    facts = {"resource": FACTS["resources"], "data": FACTS["data_sources"]}
    places: list[tuple[str, str, str, Any, bool]] = []  # (where, type, attr, value, in for_each)
    for block in ("resource", "data"):
        for rtype, named in elements[block].items():
            for name, body in named.items():
                prefix = "data." if block == "data" else ""
                for attr, value in body.items():
                    places.append((f"{prefix}{rtype}.{name}.{attr}", rtype, attr, value, "for_each" in body))
    for name, body in mod.get("output", {}).items():
        places.append((f"output.{name}", "", "value", body.get("value"), False))

    for where, rtype, attr, value, in_for_each in places:
        for path, text in strings(value, where):
            for expr in interpolations(text):
                if EACH.search(expr) and not in_for_each:
                    errors.append(f"{path}: each. outside a for_each element")
                for local in LOCAL.findall(expr):
                    if local not in mod.get("locals", {}):
                        errors.append(f"{path}: local.{local} is not defined")
                for data, ttype, tname, index, tattr in ELEMENT.findall(expr):
                    block = "data" if data else "resource"
                    ref = f"{data}{ttype}.{tname}"
                    target = elements[block].get(ttype, {}).get(tname)
                    if target is None:
                        errors.append(f"{path}: {ref} does not exist in the module")
                        continue
                    if bool(index) != ("for_each" in target) and tattr:
                        errors.append(f"{path}: {ref} is {'' if index else 'not '}indexed but "
                                      f"{'has no' if index else 'has a'} for_each")
                    if tattr and tattr not in facts[block].get(ttype, {}).get("", {}):
                        errors.append(f"{path}: {ref} has no attribute {tattr!r} in provider "
                                      f"{FACTS['provider_version']}")
                    if block == "resource" and ttype == "authentik_flow" and tattr and tattr != "uuid":
                        errors.append(f"{path}: {ref}.{tattr}: a managed flow is referenced by uuid "
                                      "(its id is the slug)")
        roles = ROLES.get((rtype, attr))
        if roles is None:
            continue
        for path, text in strings(value, where):
            match = REF.match(text)
            ok = match is not None and any(
                (match.group(1) is not None) == (block == "data") and re.fullmatch(pattern, match.group(2))
                and match.group(4) == want for block, pattern, want in roles)
            if not ok:
                errors.append(f"{path}: {text!r} is not a reference to "
                              + " or ".join(f"{'data.' if b == 'data' else ''}{p}.*.{a}" for b, p, a in roles))
    return errors


def test_every_reference_resolves(mod: dict[str, Any]) -> None:
    assert reference_errors(mod) == []


def test_every_relation_is_a_reference(mod: dict[str, Any]) -> None:
    """The checks above found something to check: each role attribute is set somewhere."""
    seen = {(rtype, attr) for rtype, named in mod["resource"].items()
            for body in named.values() for attr in body if (rtype, attr) in ROLES}
    assert seen == set(ROLES)


def test_reference_checker_catches_broken_references(mod: dict[str, Any]) -> None:
    bad = copy.deepcopy(mod)
    r = bad["resource"]
    r["authentik_flow_stage_binding"]["login_password"]["target"] = "${authentik_flow.nope.uuid}"
    r["authentik_flow_stage_binding"]["login_mfa"]["stage"] = "${authentik_stage_prompt_field.password_field.id}"
    r["authentik_brand"]["brand"]["flow_authentication"] = "${authentik_flow.login.id}"
    r["authentik_brand"]["brand"]["flow_user_settings"] = "${data.authentik_flow.user_settings.uuid}"
    r["authentik_stage_identification"]["login"]["webauthn_stage"] = \
        "${authentik_stage_authenticator_validate.passkey.uuid}"
    r["authentik_stage_identification"]["login"]["recovery_flow"] = "users-authentik-recovery"
    r["authentik_policy_binding"]["login_mfa_policy"]["target"] = "${authentik_stage_authenticator_validate.mfa.id}"
    r["authentik_stage_prompt"]["new_password"]["fields"][1] = "${authentik_stage_prompt_fields.repeat.id}"
    r["authentik_user"]["users"]["groups"] = "${[authentik_group.groups.id, data.authentik_group.admins.id]}"
    r["authentik_user"]["users"]["name"] = "${local.people[each.key].name}"
    del r["authentik_user"]["users"]["for_each"]
    errors = "\n".join(reference_errors(bad))
    for fragment in [
        "login_password.target: authentik_flow.nope does not exist",
        "login_mfa.stage: '${authentik_stage_prompt_field.password_field.id}' is not a reference to",
        "brand.flow_authentication: authentik_flow.login.id: a managed flow is referenced by uuid",
        "brand.flow_user_settings: data.authentik_flow.user_settings has no attribute 'uuid'",
        "login.webauthn_stage: authentik_stage_authenticator_validate.passkey has no attribute 'uuid'",
        "login.recovery_flow: 'users-authentik-recovery' is not a reference",
        "login_mfa_policy.target: '${authentik_stage_authenticator_validate.mfa.id}' is not a reference to "
        "authentik_flow_stage_binding.*.id",
        "new_password.fields[1]: authentik_stage_prompt_fields.repeat does not exist",
        "users.groups: authentik_group.groups is not indexed but has a for_each",
        "users.groups: data.authentik_group.admins does not exist",
        "users.name: local.people is not defined",
        "users.name: each. outside a for_each element",
    ]:
        assert fragment in errors, f"{fragment!r} not in:\n{errors}"


def test_interpolations_are_found_in_nested_expressions() -> None:
    text = "${{for n, u in authentik_user.users : n => u.id}} and $${literal} ${x}"
    assert list(interpolations(text)) == ["{for n, u in authentik_user.users : n => u.id}", "x"]


# --- settings shape the module -------------------------------------------------------------

CHANGED = {
    "brand": {"domain": "login.example.org", "title": "Example sign-in", "invalidation_flow": None,
              "logo": "https://cdn.example.org/logo.svg", "favicon": "/media/favicon.ico",
              "user_settings_flow": "my-user-settings"},
    "flows": {"name_prefix": "acme", "passwordless": {"slug": "acme-passkey", "title": "Passkey"},
              "login": {"slug": "acme-login"}, "enrollment": {"slug": "acme-welcome", "title": "Welcome"},
              "recovery": {"slug": "acme-reset"}, "webauthn_setup": {"slug": "acme-add-passkey"}},
    "session": {"duration": "days=1;hours=6", "remember_me_offset": "weeks=2"},
    "email": {"recovery_token_expiry": "minutes=15", "enrollment_token_expiry": "days=3",
              "recovery_subject": "Reset your Acme password"},
}


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory, mod: dict[str, Any]) -> dict[str, Any]:
    root = copy_project(tmp_path_factory.mktemp("changed-settings"))
    write_json(root / "settings.json", {"$schema": "./schemas/settings.schema.json", **CHANGED})
    result = run_main(root)
    assert result.returncode == 0, result.stderr
    return module(root / "generated")


def test_changed_settings_reach_flows_and_stages(changed: dict[str, Any]) -> None:
    flows = changed["resource"]["authentik_flow"]
    assert flows["passwordless"]["slug"] == "acme-passkey" and flows["passwordless"]["title"] == "Passkey"
    assert flows["login"]["slug"] == "acme-login"
    assert flows["enrollment"]["slug"] == "acme-welcome" and flows["enrollment"]["name"] == "Welcome"
    assert flows["recovery"]["slug"] == "acme-reset"
    assert flows["webauthn_setup"]["slug"] == "acme-add-passkey"
    assert flows["totp_setup"]["slug"] == DEFAULTS.flows.totp_setup.slug  # untouched keys keep defaults
    assert stage_at(changed, "recovery", 1)["token_expiry"] == "minutes=15"
    assert stage_at(changed, "recovery", 1)["subject"] == "Reset your Acme password"
    assert stage_at(changed, "enrollment", 1)["token_expiry"] == "days=3"
    for flow_key in ("passwordless", "login", "enrollment", "recovery"):
        login = stage_at(changed, flow_key, -1)
        assert (login["session_duration"], login["remember_me_offset"]) == ("days=1;hours=6", "weeks=2")
    # Every stage and policy takes the new prefix.
    for rtype, named in changed["resource"].items():
        if rtype.startswith(("authentik_stage_", "authentik_policy_expression")):
            for body in named.values():
                assert body["name"].startswith("acme-"), body["name"]


def test_changed_settings_reach_the_brand(changed: dict[str, Any]) -> None:
    brand = changed["resource"]["authentik_brand"]["brand"]
    assert brand["domain"] == "login.example.org"
    assert brand["branding_title"] == "Example sign-in"
    assert (brand["branding_logo"], brand["branding_favicon"]) == ("https://cdn.example.org/logo.svg", "/media/favicon.ico")
    assert "flow_invalidation" not in brand and "invalidation" not in changed["data"]["authentik_flow"]
    assert deref(changed, brand["flow_user_settings"])[2] == {"slug": "my-user-settings"}


def test_changed_settings_keep_chains_references_and_addresses(changed: dict[str, Any], mod: dict[str, Any]) -> None:
    """Slugs and names are attributes, not addresses: changing them updates in place."""
    for flow_key, expected in EXPECTED_CHAINS.items():
        assert [t for t, _ in chain(changed, flow_key)] == [t for t, _ in expected]
    assert reference_errors(changed) == []
    assert default_touch_errors(changed) == []
    for rtype, named in mod["resource"].items():
        assert set(changed["resource"][rtype]) == set(named), rtype


# --- bad settings are refused ---------------------------------------------------------------

BAD_SETTINGS = [
    ("duration-shorthand", {"session": {"duration": "12h"}},
     ['settings.json: session.duration: "12h" is not an Authentik duration', 'e.g. "hours=12"']),
    ("duration-comma", {"email": {"recovery_token_expiry": "minutes=30,seconds=5"}},
     ['email.recovery_token_expiry: "minutes=30,seconds=5" is not an Authentik duration', "joined by ;"]),
    ("duration-unit", {"email": {"enrollment_token_expiry": "months=1"}},
     ['email.enrollment_token_expiry: "months=1" is not an Authentik duration']),
    ("duration-number", {"session": {"remember_me_offset": 3600}},
     ["session.remember_me_offset: must be a string, not 3600"]),
    ("duplicate-slug", {"flows": {"recovery": {"slug": "users-authentik-login"}}},
     ['flows.recovery.slug: "users-authentik-login" is also the slug of flows.login', "give every flow its own slug"]),
    ("default-slug", {"flows": {"login": {"slug": "default-authentication-flow"}}},
     ['flows.login.slug: "default-authentication-flow" is not a slug this module may own',
      "not starting with default-", 'use an own slug such as "users-authentik-login"']),
    ("slug-uppercase", {"flows": {"enrollment": {"slug": "Welcome"}}},
     ['flows.enrollment.slug: "Welcome" is not a slug this module may own']),
    ("default-name-prefix", {"flows": {"name_prefix": "default-authenticator"}},
     ['flows.name_prefix: "default-authenticator" is not a name prefix',
      "Authentik's own stages and policies"]),
    ("brand-flow-is-own", {"brand": {"user_settings_flow": "users-authentik-login"}},
     ['brand.user_settings_flow: "users-authentik-login" is a flow this module creates (flows.login)',
      "name an existing Authentik flow"]),
    ("brand-flow-not-slug", {"brand": {"invalidation_flow": "log out"}},
     ['brand.invalidation_flow: "log out" is not a flow slug']),
    ("domain-url", {"brand": {"domain": "https://auth.example.com"}},
     ['brand.domain: "https://auth.example.com" is not a host name', "lowercase host name"]),
    ("domain-uppercase", {"brand": {"domain": "Auth.Example.com"}},
     ['brand.domain: "Auth.Example.com" is not a host name']),
    ("domain-single-label", {"brand": {"domain": "localhost"}}, ['brand.domain: "localhost" is not a host name']),
    ("domain-trailing-dot", {"brand": {"domain": "auth.example.com."}}, ['brand.domain: "auth.example.com." is not']),
    ("flow-typo", {"flows": {"recovry": {}}}, ['flows.recovry: unknown key "recovry" (did you mean "recovery"?)']),
    ("nan-percent", {"offboarding": {"max_removal_percent": float("nan")}},  # written as NaN
     ["settings.json: offboarding.max_removal_percent: NaN is not a JSON number"]),
]


@pytest.mark.parametrize("settings,expected", [c[1:] for c in BAD_SETTINGS], ids=[c[0] for c in BAD_SETTINGS])
def test_bad_settings_are_refused(project: Path, capsys: pytest.CaptureFixture[str],
                                  settings: dict[str, Any], expected: list[str]) -> None:
    before = tree_digest(project / "generated")
    assert before
    write_json(project / "settings.json", settings)
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    for fragment in expected:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert err.count("\n    fix: ") == 1
    assert "nothing was written to generated/" in err
    assert tree_digest(project / "generated") == before


def test_every_problem_in_settings_is_reported_at_once(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_json(project / "settings.json", {
        "session": {"duration": "12h"}, "brand": {"domain": "localhost"},
        "flows": {"passwordless": {"slug": "default-passwordless"}}})
    before = tree_digest(project / "generated")
    assert main([], root=project) == 1
    err = capsys.readouterr().err
    assert "3 problems found" in err
    assert tree_digest(project / "generated") == before


def test_settings_schema_documents_every_flow_setting() -> None:
    """One documented place: every setting has a default, and every flow key is described."""
    schema = read_json(ROOT / "schemas" / "settings.schema.json")

    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for key, sub in node.get("properties", {}).items():
            if key == "$schema":
                continue
            yield f"{path}{key}", sub
            yield from walk(sub, f"{path}{key}.")
    for path, sub in walk(schema, ""):
        assert "default" in sub, f"{path} has no default"
        if sub.get("type") == "object" and path.startswith("flows."):
            assert sub.get("description"), f"{path} has no description"


# --- docs/flows.md stays in step with the module ------------------------------------------

DOC = ROOT / "docs" / "flows.md"


def test_doc_starts_with_the_diagram_of_the_four_flows() -> None:
    text = DOC.read_text(encoding="utf-8")
    readme_part = text.split("\n## ")[1]
    assert readme_part.startswith("For the README")
    [diagram] = re.findall(r"```mermaid\n(.*?)```", readme_part, re.S)
    assert diagram.startswith("flowchart")
    for flow_key in ("passwordless", "login", "enrollment", "recovery"):
        assert getattr(DEFAULTS.flows, flow_key).slug in diagram
    for link in ("autofill", "Use a passkey", "Forgot username or password?", "Need an account? Sign up."):
        assert link in diagram


def test_doc_names_every_flow_stage_and_policy(mod: dict[str, Any]) -> None:
    text = DOC.read_text(encoding="utf-8")
    named_things = [("authentik_flow", "slug"), ("authentik_policy_expression", "name")] + [
        (rtype, "name") for rtype in mod["resource"]
        if rtype.startswith("authentik_stage_") and rtype != "authentik_stage_prompt_field"]
    for rtype, key in named_things:
        for body in mod["resource"][rtype].values():
            assert f"`{body[key]}`" in text, f"{rtype} {key} {body[key]!r} is not in docs/flows.md"


def test_doc_names_every_setting() -> None:
    text = DOC.read_text(encoding="utf-8")
    schema = read_json(ROOT / "schemas" / "settings.schema.json")
    for section in ("brand", "flows", "session", "email"):
        for key in schema["properties"][section]["properties"]:
            assert f"{section}.{key}" in text or (section == "flows" and f"`{key}`" in text), f"{section}.{key}"


@pytest.mark.parametrize("flow_key", ["recovery", "enrollment"])
def test_an_emailed_link_alone_does_not_get_past_an_existing_device(mod: dict[str, Any], flow_key: str) -> None:
    """Right after the email stage, a person who already has a device must prove it (a
    mailbox alone would otherwise reset the password or add a passkey, and a passkey then
    skips MFA for good); a first-time user has no device and passes."""
    names = [name for name, _ in bindings_of(mod, flow_key)]
    name, binding = binding_named(mod, flow_key, "authenticator_validate")
    assert names.index(name) == 2 and binding["order"] == 21  # after the email link (20)
    assert (binding["evaluate_on_plan"], binding["re_evaluate_policies"]) == (True, True)
    assert policies_on(mod, name) == []
    stage = stage_at(mod, flow_key, 2)
    assert sorted(stage["device_classes"]) == ["static", "totp", "webauthn"]
    assert stage["not_configured_action"] == "skip"
    assert stage is stage_at(mod, "recovery" if flow_key == "enrollment" else "enrollment", 2)


def test_users_own_settings_in_attributes_survive_an_apply(mod: dict[str, Any]) -> None:
    """Authentik keeps a person's locale and theme in their attributes; users.json does not
    manage them, so the module must not set them back to {} on every apply."""
    users = mod["resource"]["authentik_user"]["users"]
    assert "attributes" not in users
    assert users["lifecycle"]["ignore_changes"] == ["attributes"]


def test_the_brand_shows_authentiks_own_logo_and_icon_by_default(mod: dict[str, Any]) -> None:
    """Without them the provider sends "" and the sign-in page has no logo or icon."""
    brand = mod["resource"]["authentik_brand"]["brand"]
    assert brand["branding_logo"] == "/static/dist/assets/icons/icon_left_brand.svg"
    assert brand["branding_favicon"] == "/static/dist/assets/icons/icon.png"


@pytest.mark.parametrize("domain,noted", [("auth.example.com", True), ("login.example.org", True),
                                          ("sso.corp.test", True), ("auth.stefanzhelev.com", False),
                                          ("example.company.com", False)])
def test_a_brand_domain_reserved_for_examples_is_pointed_out(project: Path, domain: str, noted: bool) -> None:
    """The default domain matches no real host: the brand would change no sign-in page."""
    write_json(project / "settings.json", {"brand": {"domain": domain}})
    result = run_main(project, "check")
    assert result.returncode == 0, result.stderr
    assert (f'brand.domain is "{domain}", a name reserved for examples' in result.stderr) is noted
    result = run_main(project)
    assert result.returncode == 0, result.stderr
    assert module(project / "generated")["resource"]["authentik_brand"]["brand"]["domain"] == domain


def test_stages_policies_and_brand_do_not_import_the_flows() -> None:
    """Flows are tables read by one builder (flows.py), which imports the stages: nothing it
    imports imports it back (the old flows <-> stages cycle)."""
    for name in ("stages", "policies", "brand"):
        tree = ast.parse((ROOT / "constructs" / "users_authentik" / f"{name}.py").read_text(encoding="utf-8"))
        ours = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1}
        assert "flows" not in ours, name


def test_recovery_and_enrollment_bind_their_shared_steps_alike(mod: dict[str, Any]) -> None:
    """Steps 10 to 40 (identification, email link, existing device, suspended, password x2,
    save) are one declaration: same orders, evaluation and policies in both flows; only the
    identification and email stages are each flow's own."""
    def shared(flow: str) -> list[tuple[Any, ...]]:
        out = []
        for name, body in bindings_of(mod, flow):
            if body["order"] <= 40:
                rtype, _, stage = deref(mod, body["stage"])
                own = rtype in ("authentik_stage_identification", "authentik_stage_email")
                policies = [(pb["order"], pb["failure_result"], p["name"]) for pb, p in policies_on(mod, name)]
                out.append((name.removeprefix(f"{flow}_"), body["order"], body["evaluate_on_plan"],
                            body["re_evaluate_policies"], rtype if own else stage["name"], policies))
        return out
    assert shared("recovery") == shared("enrollment")
    assert [step[1] for step in shared("recovery")] == [10, 20, 21, 22, 30, 40]
