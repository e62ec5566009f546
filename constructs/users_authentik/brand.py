"""Brand: sends the configured domain's login and recovery to this module's flows.

Not the default brand (Authentik ships `authentik-default` as default, and only one may be);
a brand matches its domain and subdomains, so only that host's sign-in changes.
"""

from __future__ import annotations

from .binding import Brand, BrandConfig, DataFlow, DataFlowConfig
from .cdk import Construct
from .settings import BrandSettings


class SignInBrand(Construct):
    def __init__(self, scope: Construct, id: str, *, settings: BrandSettings, login_flow: str, recovery_flow: str):
        """login_flow, recovery_flow: the uuids of this module's flows."""
        super().__init__(scope, id)

        def existing_flow(key: str, slug: str | None) -> str | None:
            # Authentik's own flows are read, never managed (their id is the uuid).
            return DataFlow(self, key, DataFlowConfig(slug=slug)).ref("id") if slug else None

        self.brand = Brand(self, "brand", BrandConfig(
            domain=settings.domain, default=False, branding_title=settings.title,
            # Unset, the provider sends "" and the sign-in page would show no logo or icon.
            branding_logo=settings.logo, branding_favicon=settings.favicon,
            flow_authentication=login_flow, flow_recovery=recovery_flow,
            flow_user_settings=existing_flow("user_settings", settings.user_settings_flow),
            flow_invalidation=existing_flow("invalidation", settings.invalidation_flow)))
