"""The stack: provider, groups, users, flows, brand, NetBird (when enabled), outputs. Built from settings only; the per-user
rows are written beside it as locals (synth.py), so its size never grows with users.json."""

from __future__ import annotations

from .brand import SignInBrand
from .flows import Authentication
from .groups import Groups
from .literal import literal_settings
from .netbird import NetBird
from .cdk import App, AuthentikProvider, TerraformOutput, TerraformStack
from .settings import Settings
from .users import Users

STACK_NAME = "users-authentik"


class UsersAuthentikStack(TerraformStack):
    def __init__(self, scope: App, settings: Settings):
        super().__init__(scope, STACK_NAME)
        # Every settings string reaches Terraform as literal text, never as a template.
        settings = literal_settings(settings)
        AuthentikProvider(self, "authentik", version=settings.provider.version)
        self.groups = Groups(self, "directory-groups", superuser_group=settings.users.superuser_group)
        self.users = Users(self, "directory-users", groups=self.groups)
        self.flows = Authentication(self, "authentication", flows=settings.flows, session=settings.session,
                                    email=settings.email)
        self.brand = SignInBrand(self, "sign-in-brand", settings=settings.brand,
                                 login_flow=self.flows.uuid_of["login"], recovery_flow=self.flows.uuid_of["recovery"])
        if settings.netbird.enabled:
            self.netbird = NetBird(self, "netbird", settings=settings.netbird, groups=self.groups,
                                   domain=settings.brand.domain)
        TerraformOutput(self, "user_ids", description="Authentik user id (pk) by username",
                        value="${{for name, u in " + self.users.users.address + " : name => u.id}}")
        TerraformOutput(self, "group_ids", description="Authentik group id (uuid) by group name",
                        value="${{for name, g in " + self.groups.groups.address + " : name => g.id}}")
