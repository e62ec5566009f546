"""Flows: the four sign-in journeys plus three authenticator setup flows, all owned by
this module under its own slugs. Authentik's default flows are never touched.

    passwordless  passkey (WebAuthn, user verification required) -> session
    login         identification (passkey autofill) -> password -> MFA -> session
    enrollment    email identification -> email link -> existing device, if any -> suspended?
                  -> password x2 -> passkey -> TOTP -> session
    recovery      email identification -> email link -> existing device, if any -> suspended?
                  -> password x2 -> session
"""

from __future__ import annotations

from .binding import (Flow, FlowConfig, FlowStageBinding, FlowStageBindingConfig, PolicyBinding,
                      PolicyBindingConfig, PolicyExpression)
from .cdk import Construct, Resource
from .settings import FlowSettings, Settings
from .stages import Policies, SetupStages, Stages

# When a binding's policies are evaluated. Policies that read what an earlier stage did
# (auth_method, pending_user) must run when the stage is reached, not at planning.
AT_RUN = {"evaluate_on_plan": False, "re_evaluate_policies": True}
AT_PLAN_AND_RUN = {"evaluate_on_plan": True, "re_evaluate_policies": True}
AT_PLAN = {"evaluate_on_plan": True, "re_evaluate_policies": False}


class AuthFlow(Construct):
    """One flow and its stages, bound in order."""

    def __init__(self, scope: Construct, key: str, settings: FlowSettings, *,
                 designation: str, authentication: str):
        super().__init__(scope, key)
        self.key = key
        self.flow = Flow(self, key, FlowConfig(
            name=settings.title, slug=settings.slug, title=settings.title,
            designation=designation, authentication=authentication))

    @property
    def uuid(self) -> str:
        return self.flow.ref("uuid")  # a flow's id is its slug; references take the uuid

    def bind(self, order: int, stage_key: str, stage: Resource, *, when: dict[str, bool] = AT_RUN,
             only_if: PolicyExpression | None = None) -> FlowStageBinding:
        binding = FlowStageBinding(self, f"{self.key}_{stage_key}", FlowStageBindingConfig(
            target=self.uuid, stage=stage.ref("id"), order=order, **when))
        if only_if is not None:
            # Policies bind to the flow-stage binding; a policy error runs the stage.
            PolicyBinding(self, f"{self.key}_{stage_key}_policy", PolicyBindingConfig(
                target=binding.ref("id"), policy=only_if.ref("id"), order=10, failure_result=True))
        return binding


class Authentication(Construct):
    def __init__(self, scope: Construct, id: str, *, settings: Settings):
        super().__init__(scope, id)
        f = settings.flows
        sign_in = {"designation": "authentication", "authentication": "require_unauthenticated"}
        setup = {"designation": "stage_configuration", "authentication": "require_authenticated"}
        self.passwordless = AuthFlow(self, "passwordless", f.passwordless, **sign_in)
        self.login = AuthFlow(self, "login", f.login, **sign_in)
        self.enrollment = AuthFlow(self, "enrollment", f.enrollment, designation="enrollment",
                                   authentication="require_unauthenticated")
        self.recovery = AuthFlow(self, "recovery", f.recovery, designation="recovery",
                                 authentication="require_unauthenticated")
        self.webauthn_setup = AuthFlow(self, "webauthn_setup", f.webauthn_setup, **setup)
        self.totp_setup = AuthFlow(self, "totp_setup", f.totp_setup, **setup)
        self.static_setup = AuthFlow(self, "static_setup", f.static_setup, **setup)

        policies = Policies(self, "policies", prefix=f.name_prefix)
        devices = SetupStages(self, "setup-stages", prefix=f.name_prefix, webauthn_flow=self.webauthn_setup,
                              totp_flow=self.totp_setup, static_flow=self.static_setup)
        s = Stages(self, "stages", settings=settings, setup=devices, passwordless=self.passwordless,
                   recovery=self.recovery, enrollment=self.enrollment)

        self.passwordless.bind(10, "passkey", s.passkey)
        self.passwordless.bind(100, "login", s.login)

        self.login.bind(10, "identification", s.identification)
        self.login.bind(20, "password", s.password, only_if=policies.skip_password_after_passkey)
        self.login.bind(30, "mfa", s.mfa, only_if=policies.skip_mfa_after_passkey)
        self.login.bind(100, "login", s.login)

        # Recovery and enrollment follow flows-recovery-email-mfa-verification, bindings included.
        # 22: after the link, so the refusal tells nothing to someone who only knows an address.
        known = policies.skip_identification_if_known
        suspended = policies.account_suspended
        self.recovery.bind(10, "identification", s.recovery_identification, when=AT_PLAN_AND_RUN, only_if=known)
        self.recovery.bind(20, "email", s.recovery_email, when=AT_PLAN_AND_RUN)
        self.recovery.bind(21, "existing_device", s.existing_device, when=AT_PLAN_AND_RUN)
        self.recovery.bind(22, "suspended", s.suspended, only_if=suspended)
        self.recovery.bind(30, "new_password", s.new_password, when=AT_PLAN)
        self.recovery.bind(40, "update_user", s.update_user, when=AT_PLAN)
        self.recovery.bind(100, "login", s.login, when=AT_PLAN)

        self.enrollment.bind(10, "identification", s.enrollment_identification, when=AT_PLAN_AND_RUN,
                             only_if=known)
        self.enrollment.bind(20, "email", s.enrollment_email, when=AT_PLAN_AND_RUN)
        self.enrollment.bind(21, "existing_device", s.existing_device, when=AT_PLAN_AND_RUN)
        self.enrollment.bind(22, "suspended", s.suspended, only_if=suspended)
        self.enrollment.bind(30, "new_password", s.new_password, when=AT_PLAN)
        self.enrollment.bind(40, "update_user", s.update_user, when=AT_PLAN)
        self.enrollment.bind(50, "webauthn_setup", devices.webauthn, when=AT_PLAN)
        self.enrollment.bind(60, "totp_setup", devices.totp, when=AT_PLAN)
        self.enrollment.bind(100, "login", s.login, when=AT_PLAN)

        self.webauthn_setup.bind(0, "webauthn_setup", devices.webauthn)
        self.totp_setup.bind(0, "totp_setup", devices.totp)
        self.static_setup.bind(0, "static_setup", devices.static)
