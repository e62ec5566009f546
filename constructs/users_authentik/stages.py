"""Stages the module owns, under its own names (`<prefix>-...`).

Settings follow Authentik's shipped blueprints (default-authentication-flow,
flows-login-2fa, flows-recovery-email-verification, the authenticator setup flows);
docs/flows.md names each departure and why. Stages are shared between flows where the
blueprints share them too (one login stage, one new-password prompt). Which flow binds
which stage, in what order, is flows.py's business: this module only takes the uuids of
the flows a stage points at.
"""

from __future__ import annotations

from dataclasses import dataclass

from .binding import (StageAuthenticatorStatic, StageAuthenticatorStaticConfig, StageAuthenticatorTotp,
                      StageAuthenticatorTotpConfig, StageAuthenticatorValidate, StageAuthenticatorValidateConfig,
                      StageAuthenticatorWebauthn, StageAuthenticatorWebauthnConfig, StageDeny, StageDenyConfig,
                      StageEmail, StageEmailConfig, StageIdentification, StageIdentificationConfig, StagePassword,
                      StagePasswordConfig, StagePrompt, StagePromptConfig, StagePromptField, StagePromptFieldConfig,
                      StageUserLogin, StageUserLoginConfig, StageUserWrite, StageUserWriteConfig)
from .cdk import Construct, Resource
from .settings import EmailSettings, SessionSettings

SUSPENDED_MESSAGE = "This account is suspended. Ask an administrator to re-activate it."


@dataclass(frozen=True)
class FlowLinks:
    """The uuids of the flows stages point at: the login page's links, and each
    authenticator setup stage's own setup flow."""

    passwordless: str
    recovery: str
    enrollment: str
    webauthn_setup: str
    totp_setup: str
    static_setup: str


class Stages(Construct):
    """`by_key`: every stage, by the key the flow tables of flows.py name it by."""

    def __init__(self, scope: Construct, id: str, *, prefix: str, session: SessionSettings,
                 email: EmailSettings, flows: FlowLinks):
        super().__init__(scope, id)
        p = prefix
        # Each setup stage points at its own setup flow (configure_flow), which is what lets
        # the user-settings page offer to add a device.
        webauthn_setup = StageAuthenticatorWebauthn(self, "webauthn_setup", StageAuthenticatorWebauthnConfig(
            name=f"{p}-webauthn-setup", friendly_name="Passkey", configure_flow=flows.webauthn_setup,
            # A passkey must be discoverable (resident) for autofill and passwordless sign-in,
            # and verify the person (PIN or biometrics) to count as two factors.
            user_verification="required", resident_key_requirement="required",
            # The duplicate check also matches the attestation certificate of every user's
            # devices, so a second key of the same model is refused (Authentik 2026.8 drops it).
            prevent_duplicate_devices=False))
        totp_setup = StageAuthenticatorTotp(self, "totp_setup", StageAuthenticatorTotpConfig(
            name=f"{p}-totp-setup", friendly_name="Authenticator app", configure_flow=flows.totp_setup,
            digits="6"))
        static_setup = StageAuthenticatorStatic(self, "static_setup", StageAuthenticatorStaticConfig(
            name=f"{p}-static-setup", friendly_name="Recovery codes", configure_flow=flows.static_setup,
            token_count=6))

        passkey = StageAuthenticatorValidate(self, "passkey", StageAuthenticatorValidateConfig(
            name=f"{p}-passkey", device_classes=["webauthn"], webauthn_user_verification="required",
            # Passwordless has no known user to configure a device for.
            not_configured_action="deny"))
        identification = StageIdentification(self, "login", StageIdentificationConfig(
            name=f"{p}-identification", user_fields=["email", "username"], case_insensitive_matching=True,
            pretend_user_exists=True, show_matched_user=True,
            passwordless_flow=flows.passwordless,
            webauthn_stage=passkey.ref("id"),  # passkey autofill on the username field
            recovery_flow=flows.recovery, enrollment_flow=flows.enrollment))
        password = StagePassword(self, "password", StagePasswordConfig(
            name=f"{p}-password", backends=["authentik.core.auth.InbuiltBackend"]))
        mfa = StageAuthenticatorValidate(self, "mfa", StageAuthenticatorValidateConfig(
            name=f"{p}-mfa", device_classes=["static", "totp", "webauthn"],
            # No second factor yet: set one up now (passkey or app), never let through.
            not_configured_action="configure",
            configuration_stages=[webauthn_setup.ref("id"), totp_setup.ref("id")],
            webauthn_user_verification="preferred", last_auth_threshold="seconds=0"))
        # After an emailed link, someone who already has a device proves it, so a mailbox
        # alone can neither reset a password nor add a passkey; a first-time user has none
        # and passes (flows-recovery-email-mfa-verification binds it at 21 the same way).
        existing_device = StageAuthenticatorValidate(self, "existing_device", StageAuthenticatorValidateConfig(
            name=f"{p}-existing-device", device_classes=["static", "totp", "webauthn"],
            not_configured_action="skip", webauthn_user_verification="preferred", last_auth_threshold="seconds=0"))
        # A suspended person may still hold the mailbox: stop them before a password is written.
        suspended = StageDeny(self, "suspended", StageDenyConfig(name=f"{p}-suspended", deny_message=SUSPENDED_MESSAGE))
        login = StageUserLogin(self, "login", StageUserLoginConfig(
            name=f"{p}-login", session_duration=session.duration, remember_me_offset=session.remember_me_offset))

        recovery_identification = StageIdentification(self, "recovery", StageIdentificationConfig(
            name=f"{p}-recovery-identification", user_fields=["email"], case_insensitive_matching=True,
            pretend_user_exists=True))
        enrollment_identification = StageIdentification(self, "enrollment", StageIdentificationConfig(
            name=f"{p}-enrollment-identification", user_fields=["email"], case_insensitive_matching=True,
            # Authentik sends set-up mail only to real accounts; a pretended one would stall.
            pretend_user_exists=False))
        recovery_email = StageEmail(self, "recovery_email", StageEmailConfig(
            name=f"{p}-recovery-email", use_global_settings=True, template="email/password_reset.html",
            subject=email.recovery_subject, token_expiry=email.recovery_token_expiry,
            # users.json owns `active`: a link must not switch a suspended person back on.
            activate_user_on_success=False))
        enrollment_email = StageEmail(self, "enrollment_email", StageEmailConfig(
            name=f"{p}-enrollment-email", use_global_settings=True, template="email/account_confirmation.html",
            subject=email.enrollment_subject, token_expiry=email.enrollment_token_expiry,
            activate_user_on_success=False))

        password_field = StagePromptField(self, "password_field", StagePromptFieldConfig(
            name=f"{p}-field-password", field_key="password", label="Password", type="password",
            required=True, placeholder="Password", order=0))
        repeat_field = StagePromptField(self, "password_repeat_field", StagePromptFieldConfig(
            name=f"{p}-field-password-repeat", field_key="password_repeat", label="Password (repeat)",
            type="password", required=True, placeholder="Password (repeat)", order=1))
        # Two password fields in one prompt stage must match: "entered twice".
        new_password = StagePrompt(self, "new_password", StagePromptConfig(
            name=f"{p}-new-password", fields=[password_field.ref("id"), repeat_field.ref("id")]))
        update_user = StageUserWrite(self, "update_user", StageUserWriteConfig(
            name=f"{p}-update-user", user_creation_mode="never_create"))

        self.by_key: dict[str, Resource] = {
            "passkey": passkey, "identification": identification, "password": password, "mfa": mfa,
            "existing_device": existing_device, "suspended": suspended, "login": login,
            "recovery_identification": recovery_identification, "recovery_email": recovery_email,
            "enrollment_identification": enrollment_identification, "enrollment_email": enrollment_email,
            "new_password": new_password, "update_user": update_user,
            "webauthn_setup": webauthn_setup, "totp_setup": totp_setup, "static_setup": static_setup,
        }
