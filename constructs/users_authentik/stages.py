"""Stages and policies the module owns, under its own names (`<prefix>-...`).

Settings follow Authentik's shipped blueprints (default-authentication-flow,
flows-login-2fa, flows-recovery-email-verification, the authenticator setup flows);
docs/flows.md names each departure and why. Stages are shared between flows where the
blueprints share them too (one login stage, one new-password prompt).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .binding import (PolicyExpression, PolicyExpressionConfig, StageAuthenticatorStatic,
                      StageAuthenticatorStaticConfig, StageAuthenticatorTotp, StageAuthenticatorTotpConfig,
                      StageAuthenticatorValidate, StageAuthenticatorValidateConfig, StageAuthenticatorWebauthn,
                      StageAuthenticatorWebauthnConfig, StageDeny, StageDenyConfig, StageEmail, StageEmailConfig,
                      StageIdentification, StageIdentificationConfig, StagePassword, StagePasswordConfig,
                      StagePrompt, StagePromptConfig, StagePromptField, StagePromptFieldConfig, StageUserLogin,
                      StageUserLoginConfig, StageUserWrite, StageUserWriteConfig)
from .cdk import Construct
from .settings import Settings

if TYPE_CHECKING:
    from .flows import AuthFlow

# A passkey typed into the identification stage's autofill marks the user as
# authenticated (auth_method "auth_webauthn_pwl"); these two skip what is then redundant.
SKIP_PASSWORD_AFTER_PASSKEY = """\
flow_plan = request.context.get("flow_plan")
if not flow_plan:
    return True
# A user already authenticated (by a passkey) has a backend: no password needed.
return not hasattr(flow_plan.context.get("pending_user"), "backend")
"""
SKIP_MFA_AFTER_PASSKEY = """\
flow_plan = request.context.get("flow_plan")
if not flow_plan:
    return True
# A passkey with user verification is already two factors.
return not (flow_plan.context.get("auth_method") == "auth_webauthn_pwl")
"""
# Ask who you are unless the flow already knows: an admin's recovery link plans the flow
# with pending_user set. A passing policy keeps the stage, so False skips it. (The
# blueprint's `is_restored` test is true at planning too, so it never skipped anything.)
SKIP_IDENTIFICATION_IF_KNOWN = 'return "pending_user" not in request.context\n'
# True (so the deny stage runs) for a known person whose account is suspended.
ACCOUNT_SUSPENDED = """\
u = request.context.get("pending_user")
return u is not None and not u.is_active
"""
SUSPENDED_MESSAGE = "This account is suspended. Ask an administrator to re-activate it."


class Policies(Construct):
    def __init__(self, scope: Construct, id: str, *, prefix: str):
        super().__init__(scope, id)

        def policy(key: str, expression: str) -> PolicyExpression:
            return PolicyExpression(self, key, PolicyExpressionConfig(
                name=f"{prefix}-{key.replace('_', '-')}", expression=expression))

        self.skip_password_after_passkey = policy("skip_password_after_passkey", SKIP_PASSWORD_AFTER_PASSKEY)
        self.skip_mfa_after_passkey = policy("skip_mfa_after_passkey", SKIP_MFA_AFTER_PASSKEY)
        self.skip_identification_if_known = policy("skip_identification_if_known", SKIP_IDENTIFICATION_IF_KNOWN)
        self.account_suspended = policy("account_suspended", ACCOUNT_SUSPENDED)


class SetupStages(Construct):
    """Authenticator setup stages; each points at its own setup flow (configure_flow),
    which is what lets the user-settings page offer to add a device."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, webauthn_flow: "AuthFlow",
                 totp_flow: "AuthFlow", static_flow: "AuthFlow"):
        super().__init__(scope, id)
        self.webauthn = StageAuthenticatorWebauthn(self, "webauthn_setup", StageAuthenticatorWebauthnConfig(
            name=f"{prefix}-webauthn-setup", friendly_name="Passkey", configure_flow=webauthn_flow.uuid,
            # A passkey must be discoverable (resident) for autofill and passwordless sign-in,
            # and verify the person (PIN or biometrics) to count as two factors.
            user_verification="required", resident_key_requirement="required",
            # The duplicate check also matches the attestation certificate of every user's
            # devices, so a second key of the same model is refused (Authentik 2026.8 drops it).
            prevent_duplicate_devices=False))
        self.totp = StageAuthenticatorTotp(self, "totp_setup", StageAuthenticatorTotpConfig(
            name=f"{prefix}-totp-setup", friendly_name="Authenticator app", configure_flow=totp_flow.uuid,
            digits="6"))
        self.static = StageAuthenticatorStatic(self, "static_setup", StageAuthenticatorStaticConfig(
            name=f"{prefix}-static-setup", friendly_name="Recovery codes", configure_flow=static_flow.uuid,
            token_count=6))


class Stages(Construct):
    def __init__(self, scope: Construct, id: str, *, settings: Settings, setup: SetupStages,
                 passwordless: "AuthFlow", recovery: "AuthFlow", enrollment: "AuthFlow"):
        super().__init__(scope, id)
        p = settings.flows.name_prefix
        self.passkey = StageAuthenticatorValidate(self, "passkey", StageAuthenticatorValidateConfig(
            name=f"{p}-passkey", device_classes=["webauthn"], webauthn_user_verification="required",
            # Passwordless has no known user to configure a device for.
            not_configured_action="deny"))
        self.identification = StageIdentification(self, "login", StageIdentificationConfig(
            name=f"{p}-identification", user_fields=["email", "username"], case_insensitive_matching=True,
            pretend_user_exists=True, show_matched_user=True,
            passwordless_flow=passwordless.uuid,
            webauthn_stage=self.passkey.ref("id"),  # passkey autofill on the username field
            recovery_flow=recovery.uuid, enrollment_flow=enrollment.uuid))
        self.password = StagePassword(self, "password", StagePasswordConfig(
            name=f"{p}-password", backends=["authentik.core.auth.InbuiltBackend"]))
        self.mfa = StageAuthenticatorValidate(self, "mfa", StageAuthenticatorValidateConfig(
            name=f"{p}-mfa", device_classes=["static", "totp", "webauthn"],
            # No second factor yet: set one up now (passkey or app), never let through.
            not_configured_action="configure",
            configuration_stages=[setup.webauthn.ref("id"), setup.totp.ref("id")],
            webauthn_user_verification="preferred", last_auth_threshold="seconds=0"))
        # After an emailed link, someone who already has a device proves it, so a mailbox
        # alone can neither reset a password nor add a passkey; a first-time user has none
        # and passes (flows-recovery-email-mfa-verification binds it at 21 the same way).
        self.existing_device = StageAuthenticatorValidate(self, "existing_device", StageAuthenticatorValidateConfig(
            name=f"{p}-existing-device", device_classes=["static", "totp", "webauthn"],
            not_configured_action="skip", webauthn_user_verification="preferred", last_auth_threshold="seconds=0"))
        # A suspended person may still hold the mailbox: stop them before a password is written.
        self.suspended = StageDeny(self, "suspended", StageDenyConfig(
            name=f"{p}-suspended", deny_message=SUSPENDED_MESSAGE))
        self.login = StageUserLogin(self, "login", StageUserLoginConfig(
            name=f"{p}-login", session_duration=settings.session.duration,
            remember_me_offset=settings.session.remember_me_offset))

        self.recovery_identification = StageIdentification(self, "recovery", StageIdentificationConfig(
            name=f"{p}-recovery-identification", user_fields=["email"], case_insensitive_matching=True,
            pretend_user_exists=True))
        self.enrollment_identification = StageIdentification(self, "enrollment", StageIdentificationConfig(
            name=f"{p}-enrollment-identification", user_fields=["email"], case_insensitive_matching=True,
            # Authentik sends set-up mail only to real accounts; a pretended one would stall.
            pretend_user_exists=False))
        self.recovery_email = StageEmail(self, "recovery_email", StageEmailConfig(
            name=f"{p}-recovery-email", use_global_settings=True, template="email/password_reset.html",
            subject=settings.email.recovery_subject, token_expiry=settings.email.recovery_token_expiry,
            # users.json owns `active`: a link must not switch a suspended person back on.
            activate_user_on_success=False))
        self.enrollment_email = StageEmail(self, "enrollment_email", StageEmailConfig(
            name=f"{p}-enrollment-email", use_global_settings=True, template="email/account_confirmation.html",
            subject=settings.email.enrollment_subject, token_expiry=settings.email.enrollment_token_expiry,
            activate_user_on_success=False))

        password = StagePromptField(self, "password_field", StagePromptFieldConfig(
            name=f"{p}-field-password", field_key="password", label="Password", type="password",
            required=True, placeholder="Password", order=0))
        repeat = StagePromptField(self, "password_repeat_field", StagePromptFieldConfig(
            name=f"{p}-field-password-repeat", field_key="password_repeat", label="Password (repeat)",
            type="password", required=True, placeholder="Password (repeat)", order=1))
        # Two password fields in one prompt stage must match: "entered twice".
        self.new_password = StagePrompt(self, "new_password", StagePromptConfig(
            name=f"{p}-new-password", fields=[password.ref("id"), repeat.ref("id")]))
        self.update_user = StageUserWrite(self, "update_user", StageUserWriteConfig(
            name=f"{p}-update-user", user_creation_mode="never_create"))
