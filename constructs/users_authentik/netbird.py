"""NetBird: what NetBird needs inside Authentik, owned by this module (settings.json `netbird`).

Follows authentik's NetBird integration guide and NetBird's Authentik pages (docs/netbird.md):
- an OAuth2/OpenID provider and its application, signing with an existing certificate;
- one application entitlement per group users.json marks "netbird": true, bound to that
  group, so the `entitlements` claim (Authentik's managed "entitlements" scope) lists the
  user's NetBird groups and nothing else: not the superuser group, not groups NetBird never
  needs. NetBird's JWT group sync reads that claim;
- a group binding per NetBird group on the application: only their members may sign in;
- idp_manager mode (NetBird's IdP manager, ManagerType authentik): a service account in the
  superuser group, as both guides require, with an app password, and the goauthentik.io/api
  scope on the provider. It has a fixed address outside users.json, so the removal guard
  never counts it, and prevent_destroy, so no plan deletes it by accident.

Secrets (client secret, app password) leave only as sensitive outputs, which tofu-controller
writes to a Kubernetes Secret (flux/apps/users-netbird); nothing secret is in generated/.
"""

from __future__ import annotations

from . import model
from .groups import Groups
from .binding import (Application, ApplicationConfig, ApplicationEntitlement, ApplicationEntitlementConfig,
                      DataCertificateKeyPair, DataCertificateKeyPairConfig, DataFlow, DataFlowConfig,
                      DataPropertyMappingProviderScope, DataPropertyMappingProviderScopeConfig, PolicyBinding,
                      PolicyBindingConfig, ProviderOauth2, ProviderOauth2Config, Token, TokenConfig, User, UserConfig)
from .cdk import Construct, TerraformOutput
from .settings import NetBirdSettings

# Authentik's own scope mappings (blueprints/system/providers-oauth2.yaml), by `managed` id.
_SCOPE = "goauthentik.io/providers/oauth2/scope-"
CONNECTOR_SCOPES = ("openid", "email", "profile", "entitlements")
# The standalone setup adds refresh tokens and API access for the IdP manager.
IDP_MANAGER_SCOPES = CONNECTOR_SCOPES + ("offline_access", "authentik_api")

# authentik/providers/oauth2/constants.py
CONNECTOR_GRANTS = ("authorization_code", "refresh_token")
IDP_MANAGER_GRANTS = CONNECTOR_GRANTS + ("client_credentials", "urn:ietf:params:oauth:grant-type:device_code")

# The groups users.json marks for NetBird (their rows carry "netbird": true; synth.py).
NETBIRD_GROUPS = ('${{for name, g in local.groups : name => g if lookup(g, "' + model.row_key(model.Group, "netbird")
                  + '", false)}}')


class NetBird(Construct):
    def __init__(self, scope: Construct, id: str, *, settings: NetBirdSettings, groups: Groups, domain: str):
        super().__init__(scope, id)
        manager = settings.idp_manager

        def existing_flow(key: str, slug: str) -> str:
            return DataFlow(self, key, DataFlowConfig(slug=slug)).ref("id")

        # Only the certificate's id is needed: never read its key into the state.
        signing_key = DataCertificateKeyPair(self, "netbird_signing_key", DataCertificateKeyPairConfig(
            name=settings.signing_key, fetch_certificate=False, fetch_key=False))
        scopes = DataPropertyMappingProviderScope(self, "netbird_scopes", DataPropertyMappingProviderScopeConfig(
            managed_list=[_SCOPE + s for s in (IDP_MANAGER_SCOPES if manager else CONNECTOR_SCOPES)]))

        self.provider = ProviderOauth2(self, "netbird", ProviderOauth2Config(
            name=settings.name, client_id=settings.client_id,
            # connector: NetBird's dashboard holds the secret; standalone: the dashboard and CLI
            # are public clients (PKCE), so the guides make it public, with a signing key.
            client_type="public" if manager else "confidential",
            authorization_flow=existing_flow("netbird_authorization", settings.authorization_flow),
            invalidation_flow=existing_flow("netbird_invalidation", settings.invalidation_flow),
            allowed_redirect_uris=[{"matching_mode": u.matching_mode, "url": u.url} for u in settings.redirect_uris],
            signing_key=signing_key.ref("id"),
            property_mappings=scopes.ref("ids"),
            grant_types=list(IDP_MANAGER_GRANTS if manager else CONNECTOR_GRANTS),
            include_claims_in_id_token=True,
            # The standalone guide's settings (NetBird's IdP manager matches users by their id).
            access_code_validity="minutes=10" if manager else None,
            sub_mode="user_id" if manager else None))
        self.application = Application(self, "netbird", ApplicationConfig(
            name=settings.name, slug=settings.slug, protocol_provider=self.provider.ref("id"),
            policy_engine_mode="any", meta_launch_url=settings.launch_url))
        app = self.application.ref("uuid")

        entitlements = ApplicationEntitlement(self, "netbird", ApplicationEntitlementConfig(
            name="${each.key}", application=app), for_each=NETBIRD_GROUPS)
        PolicyBinding(self, "netbird_entitlement", PolicyBindingConfig(
            target=f"${{{entitlements.address}[each.key].id}}", group=f"${{{groups.id_of('each.key')}}}",
            order=0), for_each=NETBIRD_GROUPS)
        # Who may sign in: members of a NetBird group (policy engine mode "any").
        PolicyBinding(self, "netbird_access", PolicyBindingConfig(
            target=app, group=f"${{{groups.id_of('each.key')}}}", order=0), for_each=NETBIRD_GROUPS)

        secret = "" if manager else self.provider.ref("client_secret")
        manager_password = ""
        if manager:
            account = User(self, "netbird_idp_manager", UserConfig(
                username=settings.service_account, name="NetBird IdP manager", type="service_account",
                path="goauthentik.io/service-accounts", is_active=True,
                # NetBird's IdP manager needs full administrative access (both guides).
                groups=[groups.superusers.ref("id")]),
                ignore_changes=("attributes",), prevent_destroy=True)
            token = Token(self, "netbird_idp_manager", TokenConfig(
                identifier=f"{settings.service_account}-app-password", user=account.ref("id"),
                intent="app_password", description="NetBird IdP manager (users-authentik)",
                # An expiring app password would stop NetBird's user sync without warning;
                # rotate it by deleting the token in Authentik (docs/netbird.md).
                expiring=False, retrieve_key=True))
            # The guide: when bindings restrict the application, they must allow the service
            # account too, or NetBird gets a 401 after login.
            PolicyBinding(self, "netbird_idp_manager_access", PolicyBindingConfig(
                target=app, user=account.ref("id"), order=0))
            manager_password = token.ref("key")

        issuer = f"https://{domain}/application/o/{settings.slug}/"
        output(self, "netbird_client_id", value=settings.client_id,
               description="NetBird: OAuth2 client id")
        output(self, "netbird_issuer", value=issuer,
               description="NetBird: OIDC issuer (its /.well-known/openid-configuration is the configuration endpoint)")
        output(self, "netbird_client_secret", value=secret, sensitive=True,
               description="NetBird: client secret (connector mode; empty for the public client)")
        output(self, "netbird_idp_manager_username", value=settings.service_account if manager else "",
               description="NetBird: IdP manager service account (idp_manager mode; else empty)")
        output(self, "netbird_idp_manager_password", value=manager_password, sensitive=True,
               description="NetBird: the service account's app password (idp_manager mode; else empty)")


def output(scope: Construct, name: str, **kw: object) -> None:
    # Exactly this name (flux/apps/users-netbird selects outputs by name), not a path-derived id.
    TerraformOutput(scope, name, **kw).override_logical_id(name)
