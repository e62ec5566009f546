"""The expression policies the flows bind to stage bindings, under the module's own names
(`<prefix>-...`). A passing policy keeps its stage; a failing one skips it."""

from __future__ import annotations

from .binding import PolicyExpression, PolicyExpressionConfig
from .cdk import Construct

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

EXPRESSIONS = {
    "skip_password_after_passkey": SKIP_PASSWORD_AFTER_PASSKEY,
    "skip_mfa_after_passkey": SKIP_MFA_AFTER_PASSKEY,
    "skip_identification_if_known": SKIP_IDENTIFICATION_IF_KNOWN,
    "account_suspended": ACCOUNT_SUSPENDED,
}


class Policies(Construct):
    """`by_key`: each policy of EXPRESSIONS, named `<prefix>-<key with dashes>`."""

    def __init__(self, scope: Construct, id: str, *, prefix: str):
        super().__init__(scope, id)
        self.by_key = {key: PolicyExpression(self, key, PolicyExpressionConfig(
            name=f"{prefix}-{key.replace('_', '-')}", expression=expression))
            for key, expression in EXPRESSIONS.items()}
