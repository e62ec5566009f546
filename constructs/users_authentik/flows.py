"""Flows: the four sign-in journeys plus three authenticator setup flows, all owned by
this module under its own slugs. Authentik's default flows are never touched.

Each flow is data: its designation and the stages it binds, in order, with when their
policies are evaluated and the policy (if any) that decides whether a stage runs. One
builder (Authentication) turns the tables into flows, stages and bindings.

    passwordless  passkey (WebAuthn, user verification required) -> session
    login         identification (passkey autofill) -> password -> MFA -> session
    enrollment    email identification -> email link -> existing device, if any -> suspended?
                  -> password x2 -> passkey -> TOTP -> session
    recovery      email identification -> email link -> existing device, if any -> suspended?
                  -> password x2 -> session
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from .binding import Flow, FlowConfig, FlowStageBinding, FlowStageBindingConfig, PolicyBinding, PolicyBindingConfig
from .cdk import Construct
from .policies import Policies
from .settings import EmailSettings, FlowsSettings, SessionSettings
from .stages import FlowLinks, Stages


@dataclass(frozen=True)
class Evaluation:
    """When a binding's policies are evaluated: when the flow is planned, and again when the
    stage is reached. Policies that read what an earlier stage did (auth_method,
    pending_user) must run when the stage is reached, not at planning."""

    evaluate_on_plan: bool
    re_evaluate_policies: bool


AT_RUN = Evaluation(evaluate_on_plan=False, re_evaluate_policies=True)
AT_PLAN_AND_RUN = Evaluation(evaluate_on_plan=True, re_evaluate_policies=True)
AT_PLAN = Evaluation(evaluate_on_plan=True, re_evaluate_policies=False)


@dataclass(frozen=True)
class Step:
    """One stage binding: addressed `authentik_flow_stage_binding.<flow>_<name>` (and its
    policy binding `<flow>_<name>_policy`), so these names must never change."""

    order: int
    name: str
    stage: str = ""  # the key of Stages.by_key; empty: the same as `name`
    when: Evaluation = AT_RUN
    only_if: str | None = None  # the key of policies.EXPRESSIONS that must pass for the stage to run


@dataclass(frozen=True)
class FlowTable:
    designation: str
    authentication: str
    steps: tuple[Step, ...]


def email_verified_password(flow: str) -> tuple[Step, ...]:
    """What recovery and enrollment share: they follow flows-recovery-email-mfa-verification,
    bindings included, each with its own identification and email stages."""
    return (
        Step(10, "identification", f"{flow}_identification", AT_PLAN_AND_RUN, only_if="skip_identification_if_known"),
        Step(20, "email", f"{flow}_email", AT_PLAN_AND_RUN),
        Step(21, "existing_device", when=AT_PLAN_AND_RUN),
        # 22: after the link, so the refusal tells nothing to someone who only knows an address.
        Step(22, "suspended", only_if="account_suspended"),
        Step(30, "new_password", when=AT_PLAN),
        Step(40, "update_user", when=AT_PLAN),
    )


SIGN_IN = {"designation": "authentication", "authentication": "require_unauthenticated"}
DEVICE_SETUP = {"designation": "stage_configuration", "authentication": "require_authenticated"}

# By the flow's key in settings.json `flows` (its slug and title come from there).
FLOWS: dict[str, FlowTable] = {
    "passwordless": FlowTable(**SIGN_IN, steps=(
        Step(10, "passkey"),
        Step(100, "login"))),
    "login": FlowTable(**SIGN_IN, steps=(
        Step(10, "identification"),
        Step(20, "password", only_if="skip_password_after_passkey"),
        Step(30, "mfa", only_if="skip_mfa_after_passkey"),
        Step(100, "login"))),
    "enrollment": FlowTable("enrollment", "require_unauthenticated", steps=email_verified_password("enrollment") + (
        Step(50, "webauthn_setup", when=AT_PLAN),
        Step(60, "totp_setup", when=AT_PLAN),
        Step(100, "login", when=AT_PLAN))),
    "recovery": FlowTable("recovery", "require_unauthenticated", steps=email_verified_password("recovery") + (
        Step(100, "login", when=AT_PLAN),)),
    "webauthn_setup": FlowTable(**DEVICE_SETUP, steps=(Step(0, "webauthn_setup"),)),
    "totp_setup": FlowTable(**DEVICE_SETUP, steps=(Step(0, "totp_setup"),)),
    "static_setup": FlowTable(**DEVICE_SETUP, steps=(Step(0, "static_setup"),)),
}


class Authentication(Construct):
    """The flows of FLOWS with their stages and policies. `uuid_of[key]` references a flow
    (a flow's id is its slug; references take the uuid)."""

    def __init__(self, scope: Construct, id: str, *, flows: FlowsSettings, session: SessionSettings,
                 email: EmailSettings):
        super().__init__(scope, id)
        own = flows.all()
        self.uuid_of = {}
        for key, table in FLOWS.items():
            flow = Flow(self, key, FlowConfig(name=own[key].title, slug=own[key].slug, title=own[key].title,
                                              designation=table.designation, authentication=table.authentication))
            self.uuid_of[key] = flow.ref("uuid")

        policies = Policies(self, "policies", prefix=flows.name_prefix).by_key
        stages = Stages(self, "stages", prefix=flows.name_prefix, session=session, email=email,
                        flows=FlowLinks(**{f.name: self.uuid_of[f.name] for f in fields(FlowLinks)})).by_key

        for key, table in FLOWS.items():
            for step in table.steps:
                binding = FlowStageBinding(self, f"{key}_{step.name}", FlowStageBindingConfig(
                    target=self.uuid_of[key], stage=stages[step.stage or step.name].ref("id"), order=step.order,
                    evaluate_on_plan=step.when.evaluate_on_plan, re_evaluate_policies=step.when.re_evaluate_policies))
                if step.only_if is not None:
                    # Policies bind to the flow-stage binding; a policy error runs the stage.
                    PolicyBinding(self, f"{key}_{step.name}_policy", PolicyBindingConfig(
                        target=binding.ref("id"), policy=policies[step.only_if].ref("id"), order=10,
                        failure_result=True))
