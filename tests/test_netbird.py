"""NetBird (issue 17): settings.json `netbird` makes the module own NetBird's objects in
Authentik. Synthesized blocks are checked against the provider's schema facts, planned with
the real terraform CLI against the stand-in, and tied to the Flux variant that writes the
secrets to a Kubernetes Secret."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import ROOT, copy_project, module, read_json, run_main, tree_digest, write_json
from users_authentik.standin.harness import resource_actions
from tests.test_provider_schema import GENERATOR, conformance_errors
from users_authentik.changes import compare
from users_authentik.model import build_roster
from users_authentik.diff import render_markdown, render_text
from users_authentik.settings import Settings

REDIRECTS = {
    "connector": [{"url": "https://netbird.example.org/oauth2/callback"}],
    "idp_manager": [{"url": "http://localhost:53000"},
                    {"url": "https://netbird\\.example\\.org/.*", "matching_mode": "regex"}],
}
# The committed users.json with its one group marked for NetBird: no user changes.
USERS = {**read_json(ROOT / "users.json"), "groups": {"admins": {"netbird": True}}}

CONNECTOR_ADDRESSES = {
    "authentik_provider_oauth2.netbird", "authentik_application.netbird",
    'authentik_application_entitlement.netbird["admins"]',
    'authentik_policy_binding.netbird_entitlement["admins"]',
    'authentik_policy_binding.netbird_access["admins"]',
}
IDP_MANAGER_ADDRESSES = CONNECTOR_ADDRESSES | {
    "authentik_user.netbird_idp_manager", "authentik_token.netbird_idp_manager",
    "authentik_policy_binding.netbird_idp_manager_access",
}
OUTPUTS = {"netbird_client_id": False, "netbird_issuer": False, "netbird_client_secret": True,
           "netbird_idp_manager_username": False, "netbird_idp_manager_password": True}


def settings_doc(mode: str, **extra: Any) -> dict[str, Any]:
    # brand.domain stays the default, so the plan against today's module changes no brand.
    return {"netbird": {"enabled": True, "mode": mode, "redirect_uris": REDIRECTS[mode], **extra}}


def synth(root: Path, settings: dict[str, Any], users: dict[str, Any] = USERS) -> tuple[Any, Path]:
    copy_project(root)
    write_json(root / "settings.json", settings)
    write_json(root / "users.json", users)
    return run_main(root), root / "generated"


@pytest.fixture(scope="module", params=["connector", "idp_manager"])
def netbird_module(request, tmp_path_factory) -> tuple[str, Path]:
    result, generated = synth(tmp_path_factory.mktemp(request.param), settings_doc(request.param))
    assert result.returncode == 0, result.stderr
    return request.param, generated


def block(mod: dict[str, Any], kind: str, type_: str, name: str) -> dict[str, Any]:
    return mod[kind][type_][name]


# --- off by default ------------------------------------------------------------------------


def test_off_by_default_and_the_committed_module_has_no_netbird_object() -> None:
    assert Settings.defaults().netbird.enabled is False
    text = (ROOT / "generated" / "cdk.tf.json").read_text()
    assert "netbird" not in text


def test_a_netbird_group_marker_without_the_setting_adds_no_resource(tmp_path: Path) -> None:
    result, generated = synth(tmp_path / "p", {"brand": {"domain": "auth.example.org"}})
    assert result.returncode == 0, result.stderr
    assert "netbird" not in (generated / "cdk.tf.json").read_text()


# --- synthesized blocks ---------------------------------------------------------------------


def test_every_netbird_block_conforms_to_the_provider_schema(netbird_module) -> None:
    _, generated = netbird_module
    assert conformance_errors(module(generated)) == []


def test_the_generated_binding_holds_exactly_the_types_the_module_uses(netbird_module) -> None:
    """tools/gen_binding.py USED: no class for a type nothing synthesizes, none missing. The
    idp_manager module has every type (all the flows' and NetBird's, the service account's)."""
    mode, generated = netbird_module
    mod = module(generated)
    used = {"resources": set(mod["resource"]), "data_sources": set(mod["data"])}
    for kind, types in used.items():
        if mode == "idp_manager":
            assert types == set(GENERATOR.USED[kind]), types ^ set(GENERATOR.USED[kind])
        else:
            assert types <= set(GENERATOR.USED[kind])


def test_provider_application_and_claim(netbird_module) -> None:
    mode, generated = netbird_module
    mod = module(generated)
    provider = block(mod, "resource", "authentik_provider_oauth2", "netbird")
    manager = mode == "idp_manager"
    assert provider["client_type"] == ("public" if manager else "confidential")
    assert provider["client_id"] == "netbird"
    assert provider["allowed_redirect_uris"] == [
        {"matching_mode": u.get("matching_mode", "strict"), "url": u["url"]} for u in REDIRECTS[mode]]
    assert provider["signing_key"] == "${data.authentik_certificate_key_pair.netbird_signing_key.id}"
    assert provider["include_claims_in_id_token"] is True
    key = block(mod, "data", "authentik_certificate_key_pair", "netbird_signing_key")
    assert key == {"name": "authentik Self-signed Certificate", "fetch_certificate": False, "fetch_key": False}
    scopes = block(mod, "data", "authentik_property_mapping_provider_scope", "netbird_scopes")["managed_list"]
    managed = "goauthentik.io/providers/oauth2/scope-"
    # The claim NetBird reads: Authentik's managed "entitlements" scope mapping.
    assert managed + "entitlements" in scopes
    assert (managed + "authentik_api" in scopes) is manager  # the goauthentik.io/api scope
    assert ("client_credentials" in provider["grant_types"]) is manager
    assert "authorization_code" in provider["grant_types"]
    app = block(mod, "resource", "authentik_application", "netbird")
    assert app["protocol_provider"] == "${authentik_provider_oauth2.netbird.id}"
    assert app["slug"] == "netbird" and app["policy_engine_mode"] == "any"


def test_one_entitlement_and_two_bindings_per_netbird_group(netbird_module) -> None:
    _, generated = netbird_module
    mod = module(generated)
    marked = '${{for name, g in local.groups : name => g if lookup(g, "netbird", false)}}'
    ent = block(mod, "resource", "authentik_application_entitlement", "netbird")
    assert ent == {"for_each": marked, "name": "${each.key}", "application": "${authentik_application.netbird.uuid}"}
    bindings = mod["resource"]["authentik_policy_binding"]
    assert bindings["netbird_entitlement"]["target"] == "${authentik_application_entitlement.netbird[each.key].id}"
    assert bindings["netbird_access"]["target"] == "${authentik_application.netbird.uuid}"
    for name in ("netbird_entitlement", "netbird_access"):
        assert bindings[name]["for_each"] == marked
        assert bindings[name]["group"] == "${authentik_group.groups[each.key].id}"
    assert mod["locals"]["groups"] == {"admins": {"attributes": "{}", "netbird": True}}


def test_idp_manager_service_account_is_protected_and_outside_users(netbird_module) -> None:
    mode, generated = netbird_module
    mod = module(generated)
    users = mod["resource"]["authentik_user"]
    if mode == "connector":
        assert set(users) == {"users"} and "authentik_token" not in mod["resource"]
        return
    account = users["netbird_idp_manager"]
    assert "for_each" not in account  # a fixed address, not a users.json row
    assert account["type"] == "service_account" and account["username"] == "netbird-idp-manager"
    assert account["lifecycle"]["prevent_destroy"] is True
    assert account["groups"] == ["${data.authentik_group.superusers.id}"]
    token = mod["resource"]["authentik_token"]["netbird_idp_manager"]
    assert token["intent"] == "app_password" and token["retrieve_key"] is True
    assert token["user"] == "${authentik_user.netbird_idp_manager.id}"
    binding = mod["resource"]["authentik_policy_binding"]["netbird_idp_manager_access"]
    assert binding["user"] == "${authentik_user.netbird_idp_manager.id}"


def test_secrets_leave_only_as_sensitive_outputs(netbird_module) -> None:
    mode, generated = netbird_module
    outputs = module(generated)["output"]
    assert {k: v.get("sensitive", False) for k, v in outputs.items() if k.startswith("netbird_")} == OUTPUTS
    assert outputs["netbird_issuer"]["value"] == "https://auth.example.com/application/o/netbird/"
    secret = "${authentik_provider_oauth2.netbird.client_secret}"
    password = "${authentik_token.netbird_idp_manager.key}"
    assert outputs["netbird_client_secret"]["value"] == ("" if mode == "idp_manager" else secret)
    assert outputs["netbird_idp_manager_password"]["value"] == (password if mode == "idp_manager" else "")
    text = "".join(p.read_text() for p in generated.glob("*.tf.json"))
    assert "client_secret\": \"" not in text.replace('"client_secret": "${', "")  # never a literal


# --- settings and users.json checks -----------------------------------------------------------


@pytest.mark.parametrize("field, value", [
    ("name", "NetBird ${file(\"/proc/self/environ\")}"),
    ("signing_key", "%{ for x in [1] }x%{ endfor }"),
    ("redirect_uris", [{"url": "https://netbird.example.org/${path.cwd}"}]),
    ("launch_url", "https://netbird.example.org/%{if true}x%{endif}"),
])
def test_template_sequences_in_netbird_settings_are_refused(tmp_path: Path, field: str, value: Any) -> None:
    root = tmp_path / "p"
    result, generated = synth(root, settings_doc("connector", **{field: value}))
    before = tree_digest(ROOT / "generated")
    assert result.returncode == 1
    assert "settings.json: netbird." + field in result.stderr
    assert tree_digest(generated) == before  # nothing written


def test_enabling_netbird_with_nobody_in_a_netbird_group_is_a_lockout(tmp_path: Path) -> None:
    users = copy.deepcopy(USERS)
    users["groups"]["admins"] = {}
    result, _ = synth(tmp_path / "p", settings_doc("connector"), users)
    assert result.returncode == 1
    assert "no active user is in a group with \"netbird\": true" in result.stderr
    assert "nobody able to sign in to NetBird" in result.stderr
    # Suspending the only member is the same lockout.
    users = copy.deepcopy(USERS)
    users["users"]["stefan"]["active"] = False
    users["users"]["ada"] = {"name": "Ada", "email": "ada@example.org", "is_admin": True}
    result, _ = synth(tmp_path / "q", settings_doc("connector"), users)
    assert result.returncode == 1 and "nobody able to sign in to NetBird" in result.stderr


def test_a_user_may_not_take_the_service_accounts_name(tmp_path: Path) -> None:
    users = copy.deepcopy(USERS)
    users["users"]["NetBird-IdP-Manager"] = {"name": "X", "email": "x@example.org", "groups": ["admins"]}
    result, _ = synth(tmp_path / "p", settings_doc("idp_manager"), users)
    assert result.returncode == 1
    assert "users.NetBird-IdP-Manager" in result.stderr and "service account" in result.stderr


@pytest.mark.parametrize("name", ["netbırd-idp-manager",  # dotless ı: PostgreSQL's UPPER makes it I
                                  "nеtbird-idp-manager"])  # Cyrillic е: another account that looks like it
def test_a_user_may_not_take_a_spelling_of_the_service_accounts_name(tmp_path: Path, name: str) -> None:
    """The service account is a superuser; a username Authentik's case-insensitive login takes
    for it, or one a reviewer reads as it, is refused as it is between two users (it passed:
    the check compared casefold() alone)."""
    users = copy.deepcopy(USERS)
    users["users"][name] = {"name": "X", "email": "x@example.org", "groups": ["admins"]}
    result, _ = synth(tmp_path / "p", settings_doc("idp_manager"), users)
    assert result.returncode == 1, result.stdout
    assert f'users["{name}"]' in result.stderr and "NetBird IdP manager's service account" in result.stderr


@pytest.mark.parametrize("name", ["akadmin", "Akadmin", "akadmın", "AnonymousUser", "AK-outpost-x"])
def test_the_service_account_may_not_be_one_of_authentiks_own_accounts(tmp_path: Path, name: str) -> None:
    """netbird.service_account becomes a superuser account with an app password. A name that
    is, or to Authentik's case-insensitive login is, akadmin (the break-glass admin) or another
    account Authentik manages itself was accepted (the schema refused only a lower-case "ak-"),
    while the same name in users.json is refused (red team)."""
    result, generated = synth(tmp_path / "p", settings_doc("idp_manager", service_account=name))
    assert result.returncode == 1, result.stdout
    assert "settings.json" in result.stderr and "netbird.service_account" in result.stderr
    assert "an account Authentik creates and manages itself" in result.stderr
    assert not (generated / "users.tf.json").exists() or name not in (generated / "users.tf.json").read_text()


def test_the_marker_is_a_boolean(tmp_path: Path) -> None:
    users = copy.deepcopy(USERS)
    users["groups"]["admins"] = {"netbird": "yes"}
    result, _ = synth(tmp_path / "p", settings_doc("connector"), users)
    assert result.returncode == 1 and "groups.admins.netbird" in result.stderr


# --- diff -----------------------------------------------------------------------------------


def test_diff_shows_who_gains_and_loses_netbird_access() -> None:
    settings = Settings.from_document({"netbird": {"enabled": True}})
    base_doc = {"users": {"stefan": {"name": "S", "email": "s@example.org", "groups": ["admins"], "is_admin": True},
                          "bob": {"name": "B", "email": "b@example.org", "groups": ["vpn"]},
                          "eve": {"name": "E", "email": "e@example.org", "groups": ["vpn"]}},
                "groups": {"admins": {}, "vpn": {"netbird": True}}}
    head_doc = copy.deepcopy(base_doc)
    head_doc["users"]["ada"] = {"name": "A", "email": "a@example.org", "groups": ["dev"]}
    head_doc["groups"]["dev"] = {"netbird": True}
    head_doc["users"]["bob"]["groups"] = ["admins"]
    head_doc["users"]["eve"]["active"] = False
    changes = compare(build_roster(base_doc, settings), build_roster(head_doc, settings), settings, settings)
    text = render_text(changes, "HEAD")
    assert "  + ada gains NetBird access (new user)" in text
    assert "  - bob loses NetBird access (NetBird groups: -vpn)" in text
    assert "  - eve loses NetBird access (suspended)" in text
    assert "3 NetBird access changes" in text
    assert "`ada` **gains** NetBird access" in render_markdown(changes, "HEAD")
    # Marking a group grants its members access; the group change is listed too.
    marked = copy.deepcopy(base_doc)
    marked["groups"]["admins"] = {"netbird": True}
    text = render_text(compare(build_roster(base_doc, settings), build_roster(marked, settings), settings, settings),
                       "HEAD")
    assert "+ stefan gains NetBird access (NetBird groups: +admins)" in text
    assert "admins           netbird: false -> true" in text


def test_diff_lists_netbird_access_only_where_netbird_is_enabled() -> None:
    off, on = Settings.defaults(), Settings.from_document({"netbird": {"enabled": True}})
    base_doc = {"users": {"stefan": {"name": "S", "email": "s@example.org", "groups": ["vpn"], "is_admin": True},
                          "bob": {"name": "B", "email": "b@example.org", "groups": ["dev"]}},
                "groups": {"vpn": {"netbird": True}, "dev": {}}}
    head_doc = copy.deepcopy(base_doc)
    head_doc["users"]["ada"] = {"name": "A", "email": "a@example.org", "groups": ["vpn"]}
    head_doc["users"]["bob"]["groups"] = ["vpn"]
    base, head = build_roster(base_doc, off), build_roster(head_doc, off)
    # Off on both sides: nobody signs in to NetBird, whatever the groups; the membership is listed.
    quiet = compare(base, head, off, off)
    assert quiet.netbird == () and "NetBird access" not in render_text(quiet, "HEAD")
    assert "bob" in render_text(quiet, "HEAD")
    # Turned on: everyone in a "netbird" group gains it, and says why.
    text = render_text(compare(base, head, off, on), "HEAD")
    assert "  + stefan gains NetBird access (settings.json netbird.enabled: false -> true)" in text
    assert "  + bob gains NetBird access (settings.json netbird.enabled: false -> true)" in text
    assert "  + ada gains NetBird access (new user)" in text
    # Turned off: everyone loses it.
    text = render_text(compare(head, head, on, off), "HEAD")
    assert text.count("loses NetBird access (settings.json netbird.enabled: true -> false)") == 3
    # A side whose settings could not be read is taken to be as the other.
    assert compare(base, head, None, on).netbird == compare(base, head, on, on).netbird


# --- terraform, against the stand-in --------------------------------------------------------


@pytest.mark.parametrize("mode", ["connector", "idp_manager"])
def test_terraform_plan_creates_the_netbird_objects_and_changes_nothing_else(
        mode: str, tmp_path: Path, terraform_run, committed_applied) -> None:
    result, generated = synth(tmp_path / "head", settings_doc(mode))
    assert result.returncode == 0, result.stderr
    run = terraform_run(generated, start_from=committed_applied.workspace)  # from today's module, applied
    plan = run.plan()
    expected = IDP_MANAGER_ADDRESSES if mode == "idp_manager" else CONNECTOR_ADDRESSES
    assert resource_actions(plan) == {a: ["create"] for a in expected}
    outputs = plan["planned_values"]["outputs"]
    assert {k: v["sensitive"] for k, v in outputs.items() if k.startswith("netbird_")} == OUTPUTS
    run.apply("tfplan")
    assert resource_actions(run.plan()) == {}, "a second plan shows changes"
    if mode == "idp_manager":
        # prevent_destroy: no plan may delete the service account.
        refused = run.plan_result("-destroy")
        assert refused.returncode != 0
        assert "authentik_user.netbird_idp_manager" in refused.output
        assert "prevent_destroy" in refused.output


# --- Flux -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
def test_flux_netbird_variant_writes_exactly_the_modules_netbird_outputs(netbird_module) -> None:
    _, generated = netbird_module
    built = subprocess.run(["kubectl", "kustomize", str(ROOT / "flux" / "apps" / "users-netbird")],
                           capture_output=True, text=True, check=True).stdout
    terraform = next(o for o in yaml.safe_load_all(built) if o and o["kind"] == "Terraform")
    wots = terraform["spec"]["writeOutputsToSecret"]
    assert wots["name"] == "netbird-authentik"
    selected = [entry.split(":", 1)[0] for entry in wots["outputs"]]
    # tofu-controller fails a run whose selected outputs do not exist: every one must.
    netbird_outputs = {k for k in module(generated)["output"] if k.startswith("netbird_")}
    assert sorted(selected) == sorted(netbird_outputs)
    plain = subprocess.run(["kubectl", "kustomize", str(ROOT / "flux" / "apps" / "users")],
                           capture_output=True, text=True, check=True).stdout
    assert "writeOutputsToSecret" not in plain  # the default layer writes no Secret
    assert json.dumps(terraform).count("netbird") >= len(OUTPUTS)
