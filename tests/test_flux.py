"""Checks of the Flux manifests in flux/ (issue 4).

Every kustomization directory under flux/ is built with `kubectl kustomize`; the Flux
post-build variables are then filled in from the settings ConfigMap the way
kustomize-controller does it (strict: an unknown variable is an error), and each object
is validated against the vendored JSON Schema of its CRD (schemas/vendor/crds/, unknown
fields rejected). Cross-reference checks tie the objects together: the Flux
Kustomization's path builds the app layer, the Terraform path holds the generated
module, and the runner's secretKeyRefs match what the ExternalSecret writes. The
`kubectl patch` and `jsonpath` commands that docs/ gives for the Terraform object are
checked against its CRD too.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
FLUX = REPO / "flux"
CRDS = REPO / "schemas" / "vendor" / "crds"
CLUSTER_DIR = FLUX / "clusters" / "stefanzhelev" / "apps" / "users-authentik"
SETTINGS_FILE = CLUSTER_DIR / "settings.yaml"
APP_DIR = FLUX / "apps" / "users"
MANUAL_DIR = FLUX / "apps" / "users-manual-approval"

NAME = "users-authentik"
NAMESPACE = "flux-system"
SETTINGS_NAME = "users-authentik-settings"
SOURCE = {"kind": "GitRepository", "name": "flux-system"}
REQUIRED_DEPENDS_ON = {"authentik", "external-secrets-config", "tofu-controller"}
SYNC_WAVE_ANNOTATION = "sync-wave"
SYNC_WAVE = "8"
RUNNER_ENV = ("AUTHENTIK_URL", "AUTHENTIK_TOKEN")

SCHEMA_FILES = {
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"): "kustomization-kustomize-v1.json",
    ("infra.contrib.fluxcd.io/v1alpha2", "Terraform"): "terraform-infra-v1alpha2.json",
    ("external-secrets.io/v1", "ExternalSecret"): "externalsecret-external-secrets-v1.json",
}
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")

KUBECTL = shutil.which("kubectl")
if KUBECTL is None:
    pytest.skip("kubectl not on PATH: flux/ manifests cannot be rendered", allow_module_level=True)


# --- rendering -------------------------------------------------------------------------


def kustomization_dirs() -> list[Path]:
    """Every directory under flux/ that kustomize can build."""
    return sorted({p.parent for name in KUSTOMIZATION_FILES for p in FLUX.rglob(name)})


def _dir_id(directory: Path) -> str:
    return directory.relative_to(REPO).as_posix()


@functools.lru_cache(maxsize=None)
def kustomize_build(directory: Path) -> str:
    proc = subprocess.run(
        [KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        pytest.fail(f"kubectl kustomize {_dir_id(directory)} failed:\n{proc.stderr}")
    return proc.stdout


def parse(text: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


_VAR = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_VAR_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")  # Flux's rule for variable names


def flux_envsubst(text: str, variables: dict[str, str]) -> str:
    """Flux post-build substitution, restricted to what these manifests may use.

    `${name}` is replaced by its value and `$${` is the escape for a literal `${`. A
    variable missing from `variables` is an error (as with kustomize-controller's
    StrictPostBuildSubstitutions feature gate), and so is any other form such as
    `${name:=default}`: defaults belong in the settings ConfigMap, not in the manifests.
    """
    missing: list[str] = []
    unsupported: list[str] = []

    def replace(match: re.Match) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group(1)
        if not _VAR_NAME.match(name):
            unsupported.append(match.group(0))
        elif name not in variables:
            missing.append(name)
        else:
            return variables[name]
        return match.group(0)

    result = _VAR.sub(replace, text)
    if missing or unsupported:
        raise ValueError(f"undefined variables {missing}, unsupported expressions {unsupported}")
    return result


def variables_used(text: str) -> set[str]:
    return {m.group(1) for m in _VAR.finditer(text) if m.group(1) is not None}


def settings_object() -> dict:
    matches = [
        o
        for o in parse(kustomize_build(CLUSTER_DIR))
        if o.get("kind") == "ConfigMap" and o["metadata"].get("name") == SETTINGS_NAME
    ]
    assert len(matches) == 1, f"expected one ConfigMap {SETTINGS_NAME} in {_dir_id(CLUSTER_DIR)}"
    return matches[0]


def settings() -> dict[str, str]:
    return dict(settings_object().get("data") or {})


def render(directory: Path, variables: dict[str, str] | None = None) -> list[dict]:
    """What Flux applies from `directory`: kustomize build, then post-build substitution."""
    text = kustomize_build(directory)
    return parse(flux_envsubst(text, settings() if variables is None else variables))


def render_layers() -> list[dict]:
    """The cluster layer and the app layer, each built on its own as Flux builds them.

    There is deliberately no kustomization that builds both: pointed at by a Flux
    Kustomization, it would apply the app layer without post-build substitution, and a
    second Kustomization would own the same Terraform object.
    """
    return render(CLUSTER_DIR) + render(APP_DIR)


def one(objects: list[dict], kind: str) -> dict:
    found = [o for o in objects if o.get("kind") == kind]
    assert len(found) == 1, f"expected exactly one {kind}, found {len(found)}"
    return found[0]


# --- checks that return problems (so the tests below can show that they can fail) ------


@functools.lru_cache(maxsize=None)
def _validator(filename: str):
    schema = json.loads((CRDS / filename).read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def schema_errors(obj: dict) -> list[str]:
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key == ("v1", "ConfigMap"):  # core kind, no CRD: data is a map of strings
        data = obj.get("data") or {}
        return [f"data.{k}: not a string" for k, v in data.items() if not isinstance(v, str)]
    if key not in SCHEMA_FILES:
        return [f"no vendored schema for {key}"]
    return [
        f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _validator(SCHEMA_FILES[key]).iter_errors(obj)
    ]


def source_path_problems(path: str) -> list[str]:
    """A Flux/tofu-controller path must be relative to the source root and stay inside it."""
    if not isinstance(path, str) or not path:
        return [f"{path!r}: empty"]
    if path.startswith("/"):
        return [f"{path}: absolute, but paths are relative to the source root"]
    root = REPO.resolve()
    target = (root / path).resolve()
    if target != root and root not in target.parents:
        return [f"{path}: leaves the source root"]
    return []


def module_path_problems(path: str) -> list[str]:
    problems = source_path_problems(path)
    if not problems and not (REPO / path / "cdk.tf.json").is_file():
        problems.append(f"{path}: no cdk.tf.json in {(REPO / path).resolve()}")
    return problems


def produced_secret_keys(external_secret: dict) -> set[str]:
    """Keys of the Secret an ExternalSecret writes (external-secrets v1 semantics)."""
    spec = external_secret["spec"]
    fetched = {d["secretKey"] for d in spec.get("data", [])}
    template = spec.get("target", {}).get("template") or {}
    if template.get("data") or template.get("templateFrom"):
        keys = set(template.get("data", {}))
        if template.get("mergePolicy", "Replace") == "Merge":
            keys |= fetched
        return keys
    return fetched


def secret_wiring_problems(terraform: dict, external_secret: dict) -> list[str]:
    problems = []
    target = external_secret["spec"].get("target", {})
    secret = target.get("name") or external_secret["metadata"]["name"]
    keys = produced_secret_keys(external_secret)
    if external_secret["metadata"].get("namespace") != terraform["metadata"].get("namespace"):
        problems.append("ExternalSecret and Terraform are in different namespaces")
    fetched = {d["secretKey"] for d in external_secret["spec"].get("data", [])}
    for key, value in (target.get("template") or {}).get("data", {}).items():
        for ref in re.findall(r"\{\{\s*\.(\w+)\s*\}\}", value):
            if ref not in fetched:
                problems.append(f"template key {key} uses .{ref}, which is not fetched")
    pod = terraform["spec"].get("runnerPodTemplate", {}).get("spec", {})
    for env in pod.get("env", []):
        ref = env.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            continue
        if ref.get("name") != secret:
            problems.append(f"env {env['name']}: secret {ref.get('name')!r}, not {secret!r}")
        if ref.get("key") not in keys:
            problems.append(f"env {env['name']}: key {ref.get('key')!r} not in {sorted(keys)}")
        if ref.get("optional"):
            problems.append(f"env {env['name']}: optional secretKeyRef hides a missing secret")
    for source in pod.get("envFrom", []):
        ref = source.get("secretRef")
        if ref is not None and ref.get("name") != secret:
            problems.append(f"envFrom: secret {ref.get('name')!r}, not {secret!r}")
    return problems


# --- tests: building and schemas ----------------------------------------------------------


def test_every_layer_has_a_kustomization():
    found = {d.relative_to(FLUX).as_posix() for d in kustomization_dirs()}
    expected = {
        "clusters/stefanzhelev/apps/users-authentik",
        "apps/users",
        "apps/users-manual-approval",
    }
    assert expected <= found


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=_dir_id)
def test_kustomize_builds(directory):
    objects = parse(kustomize_build(directory))
    assert objects, f"{_dir_id(directory)} builds to nothing"
    assert all("apiVersion" in o and "kind" in o for o in objects)


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=_dir_id)
def test_rendered_objects_match_their_crd_schema(directory):
    for obj in render(directory):
        errors = schema_errors(obj)
        assert errors == [], f"{obj['kind']}/{obj['metadata'].get('name')}: {errors}"


@pytest.mark.parametrize(
    "kind, where, field",
    [
        ("Terraform", ("spec",), "aproovePlan"),
        ("Terraform", ("spec", "runnerPodTemplate", "spec"), "enviroment"),
        ("Kustomization", ("spec",), "dependOn"),
        ("ExternalSecret", ("spec", "target"), "creationPolicyy"),
    ],
)
def test_misspelled_field_fails_validation(kind, where, field):
    obj = copy.deepcopy(one(render_layers(), kind))
    assert schema_errors(obj) == []
    node = obj
    for key in where:
        node = node[key]
    node[field] = "auto"
    errors = schema_errors(obj)
    assert any(field in e for e in errors), errors


@pytest.mark.parametrize(
    "kind, where, value",
    [
        ("Terraform", ("spec", "storeReadablePlan"), "humans"),
        ("ExternalSecret", ("spec", "secretStoreRef", "kind"), "VaultStore"),
        ("Kustomization", ("spec", "interval"), "ten minutes"),
    ],
)
def test_invalid_value_fails_validation(kind, where, value):
    obj = copy.deepcopy(one(render_layers(), kind))
    node = obj
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    assert schema_errors(obj) != []


def test_unknown_kind_has_no_schema():
    assert schema_errors({"apiVersion": "example.com/v1", "kind": "Thing"}) != []


def test_vendored_schemas_are_documented():
    readme = (CRDS / "README.md").read_text()
    for filename in SCHEMA_FILES.values():
        assert (CRDS / filename).is_file(), filename
        assert f"`{filename}`" in readme, f"{filename} has no row in {CRDS / 'README.md'}"


# --- tests: settings -------------------------------------------------------------------


def test_settings_feed_every_variable_and_nothing_else():
    values = settings()
    used = variables_used(kustomize_build(APP_DIR)) | variables_used(kustomize_build(MANUAL_DIR))
    assert used, "the app layer uses no settings at all"
    assert used <= values.keys(), f"variables without a setting: {sorted(used - values.keys())}"
    # app_path is consumed by the kustomize replacement into the Kustomization's spec.path.
    unused = values.keys() - used - {"app_path"}
    assert not unused, f"settings nobody reads: {sorted(unused)}"


def test_cluster_layer_needs_no_variables():
    # The cluster's root Kustomization applies this layer without post-build substitution.
    assert variables_used(kustomize_build(CLUSTER_DIR)) == set()


def test_setting_values_are_not_repeated_as_literals():
    values = {k: v for k, v in settings().items() if len(v) >= 6}
    offenders = [
        f"{path.relative_to(REPO)} repeats {key}={value!r}"
        for path in sorted(FLUX.rglob("*.y*ml"))
        if path != SETTINGS_FILE
        for key, value in values.items()
        if value in path.read_text()
    ]
    assert offenders == []


def test_setting_values_are_well_formed():
    values = settings()
    for key in ("app_path", "module_path"):
        assert values[key].startswith("./"), f"{key} must be relative to the source root"
        assert source_path_problems(values[key]) == []
    assert re.match(r"^https?://[^/\s]+", values["authentik_url"]), values["authentik_url"]
    assert GO_DURATION.match(values["refresh_interval"]), values["refresh_interval"]
    assert GO_DURATION.match(values["terraform_interval"]), values["terraform_interval"]
    assert all(values[k].strip() for k in ("secret_store", "vault_key", "vault_property"))


def test_undefined_or_defaulted_variables_are_rejected():
    with pytest.raises(ValueError):
        flux_envsubst("path: ${nope}", {})
    with pytest.raises(ValueError):
        flux_envsubst("path: ${nope:=./x}", {})
    assert flux_envsubst("a: ${x} b: $${x}", {"x": "1"}) == "a: 1 b: ${x}"


# --- tests: the Flux Kustomization -------------------------------------------------------


def test_flux_kustomization():
    objects = render(CLUSTER_DIR)
    ks = one(objects, "Kustomization")
    assert ks["metadata"]["name"] == NAME
    assert ks["metadata"]["namespace"] == NAMESPACE
    assert ks["metadata"].get("annotations", {}).get(SYNC_WAVE_ANNOTATION) == SYNC_WAVE
    spec = ks["spec"]
    assert {d["name"] for d in spec.get("dependsOn", [])} == REQUIRED_DEPENDS_ON
    assert all(d.get("namespace", NAMESPACE) == NAMESPACE for d in spec["dependsOn"])
    assert spec["prune"] is True
    assert {k: spec["sourceRef"][k] for k in SOURCE} == SOURCE
    assert spec["sourceRef"].get("namespace", NAMESPACE) == NAMESPACE
    assert spec["path"] == settings()["app_path"]


def test_prerequisites_doc_lists_the_depends_on_entries():
    # docs/flux.md#prerequisites tells a new cluster what each entry must provide.
    section = (REPO / "docs" / "flux.md").read_text().split("## Prerequisites", 1)[1]
    table = next(part for part in section.split("\n\n") if part.startswith("| dependsOn |"))
    documented = set(re.findall(r"^\| `([^`]+)` \|", table, re.M))
    ks = one(render(CLUSTER_DIR), "Kustomization")
    assert documented == {d["name"] for d in ks["spec"]["dependsOn"]}


def test_flux_kustomization_loads_the_settings():
    objects = render(CLUSTER_DIR)
    ks = one(objects, "Kustomization")
    refs = ks["spec"].get("postBuild", {}).get("substituteFrom", [])
    matching = [r for r in refs if r.get("kind") == "ConfigMap" and r.get("name") == SETTINGS_NAME]
    assert matching, f"postBuild.substituteFrom does not load ConfigMap {SETTINGS_NAME}"
    assert not any(r.get("optional") for r in matching), "missing settings must fail, not blank"
    # substituteFrom objects are looked up in the Kustomization's own namespace.
    assert settings_object()["metadata"]["namespace"] == ks["metadata"]["namespace"]
    # Inline substitute values would silently take precedence over the ConfigMap.
    assert not ks["spec"]["postBuild"].get("substitute")


def test_flux_kustomization_path_builds_the_app_layer():
    path = one(render(CLUSTER_DIR), "Kustomization")["spec"]["path"]
    assert source_path_problems(path) == []
    app = (REPO / path).resolve()
    assert any((app / name).is_file() for name in KUSTOMIZATION_FILES), f"{path}: no kustomization"
    names = {(o["kind"], o["metadata"]["name"]) for o in render(app)}
    assert ("Terraform", NAME) in names
    assert "ExternalSecret" in {kind for kind, _ in names}


def test_layers_together_hold_each_object_once():
    objects = render_layers()
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == ["ConfigMap", "ExternalSecret", "Kustomization", "Terraform"]
    assert {o["metadata"].get("namespace") for o in objects} == {NAMESPACE}


def layer_mixing_problems(objects: list[dict]) -> list[str]:
    """A build that holds a Flux Kustomization and the objects it applies is a trap.

    Applied by Flux, such a build would create the app objects itself (without the
    post-build substitution, so with literal ${...} values) while the Flux Kustomization
    in it applies them again: two owners of one Terraform object.
    """
    kinds = {(o.get("apiVersion", "").split("/")[0], o.get("kind")) for o in objects}
    flux = ("kustomize.toolkit.fluxcd.io", "Kustomization") in kinds
    app = {k for _, k in kinds} & {"Terraform", "ExternalSecret"}
    return [f"builds the Flux Kustomization together with {sorted(app)}"] if flux and app else []


def test_no_kustomization_at_the_root_of_flux():
    # Flux pointed at ./flux must not find a kustomization that builds both layers.
    assert not any((FLUX / name).exists() for name in KUSTOMIZATION_FILES)


@pytest.mark.parametrize("directory", kustomization_dirs(), ids=_dir_id)
def test_no_kustomization_builds_both_layers(directory):
    assert layer_mixing_problems(parse(kustomize_build(directory))) == []


def test_layer_mixing_check_can_fail():
    assert layer_mixing_problems(render_layers()) != []


# --- tests: Terraform and ExternalSecret --------------------------------------------------


def test_terraform():
    tf = one(render(APP_DIR), "Terraform")
    assert tf["metadata"]["name"] == NAME
    assert tf["metadata"]["namespace"] == NAMESPACE
    spec = tf["spec"]
    assert spec["approvePlan"] == "auto"
    assert spec["storeReadablePlan"] == "human"
    assert spec.get("disableDriftDetection", False) is False, "drift detection must stay on"
    assert {k: spec["sourceRef"][k] for k in SOURCE} == SOURCE
    assert spec["sourceRef"].get("namespace", NAMESPACE) == NAMESPACE
    assert GO_DURATION.match(spec["interval"])
    env = {e["name"]: e for e in spec["runnerPodTemplate"]["spec"]["env"]}
    for name in RUNNER_ENV:
        assert name in env, f"runner env lacks {name}"
        assert "value" not in env[name], f"{name} must come from the secret, not a literal"
        assert "secretKeyRef" in env[name].get("valueFrom", {}), f"{name}: no secretKeyRef"


def go_duration_seconds(text: str) -> float:
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
    assert GO_DURATION.match(text), text
    return sum(float(n) * units[u] for n, u in re.findall(r"([0-9.]+)(ns|us|µs|ms|s|m|h)", text))


def test_terraform_interval_is_a_setting():
    # Every interval the runner refreshes every managed object through the Authentik API;
    # the trade-off (docs/flux.md) is per site, and 10m was more load than it buys.
    values = settings()
    tf = one(render(APP_DIR), "Terraform")
    assert tf["spec"]["interval"] == values["terraform_interval"]
    assert go_duration_seconds(values["terraform_interval"]) >= 30 * 60
    assert go_duration_seconds("1h30m") == 5400


def test_docs_envsubst_example_matches_the_settings():
    # docs/flux.md exports the settings for `flux envsubst --strict`, which fails on any
    # variable that is not exported.
    text = (REPO / "docs" / "flux.md").read_text()
    block = re.search(r"^ *export (\w+=.*?)^ *kubectl ", text, re.M | re.S).group(1)
    exported = dict(
        arg.split("=", 1) for arg in shlex.split(block.replace("\\\n", " "), comments=True)
    )
    expected = {k: v for k, v in settings().items() if k != "app_path"}
    assert exported == expected


def test_terraform_path_holds_the_generated_module():
    path = one(render(APP_DIR), "Terraform")["spec"]["path"]
    assert module_path_problems(path) == []


def backend_problems(module_dir: Path) -> list[str]:
    """The runner adds backend_override.tf (kubernetes backend) to the module directory
    (tofu-controller runner/server.go, WriteBackendConfig); the module itself must not
    name a backend or a cloud block, nor ship an override file of its own."""
    problems = []
    for path in sorted(module_dir.iterdir()):
        if path.name == "override.tf.json" or "_override." in path.name or path.name == "override.tf":
            problems.append(f"{path.name}: override file")
        if path.name.endswith(".tf.json"):
            for block in json.loads(path.read_text()).get("terraform", {}) or {}:
                if block in ("backend", "cloud"):
                    problems.append(f"{path.name}: terraform.{block}")
        elif path.suffix == ".tf" and re.search(r"^\s*(backend|cloud)\b", path.read_text(), re.M):
            problems.append(f"{path.name}: backend or cloud block")
    return problems


def test_committed_module_declares_no_backend():
    module_dir = REPO / one(render(APP_DIR), "Terraform")["spec"]["path"]
    assert sorted(p.name for p in module_dir.glob("*.tf.json")), module_dir
    assert backend_problems(module_dir) == []


def test_backend_check_can_fail(tmp_path):
    (tmp_path / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": {}}}}))
    (tmp_path / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    assert len(backend_problems(tmp_path)) == 3


def test_module_path_check_can_fail():
    assert module_path_problems("./flux") != []  # exists, but no cdk.tf.json
    assert module_path_problems("./does-not-exist") != []
    assert module_path_problems("/generated") != []
    assert module_path_problems("../generated") != []


def test_runner_env_comes_from_the_external_secret():
    objects = render(APP_DIR)
    assert secret_wiring_problems(one(objects, "Terraform"), one(objects, "ExternalSecret")) == []


@pytest.mark.parametrize(
    "breakage",
    ["secret name", "secret key", "namespace", "template reference"],
)
def test_secret_wiring_check_can_fail(breakage):
    objects = render(APP_DIR)
    tf = copy.deepcopy(one(objects, "Terraform"))
    es = copy.deepcopy(one(objects, "ExternalSecret"))
    ref = tf["spec"]["runnerPodTemplate"]["spec"]["env"][-1]["valueFrom"]["secretKeyRef"]
    if breakage == "secret name":
        ref["name"] += "-typo"
    elif breakage == "secret key":
        ref["key"] += "_TYPO"
    elif breakage == "namespace":
        es["metadata"]["namespace"] = "default"
    else:
        es["spec"]["data"][0]["secretKey"] += "-renamed"
    assert secret_wiring_problems(tf, es) != []


def test_external_secret_reads_vault_through_the_cluster_secret_store():
    es = one(render(APP_DIR), "ExternalSecret")
    values = settings()
    spec = es["spec"]
    assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": values["secret_store"]}
    assert [d["remoteRef"] for d in spec["data"]] == [
        {"key": values["vault_key"], "property": values["vault_property"]}
    ]
    assert GO_DURATION.match(spec["refreshInterval"])
    assert re.search(r"[1-9]", spec["refreshInterval"]), "0s would fetch once and never refresh"
    template = spec["target"]["template"]["data"]
    assert template["AUTHENTIK_URL"] == values["authentik_url"]
    assert set(RUNNER_ENV) <= produced_secret_keys(es)


# --- tests: manual-approval variant ------------------------------------------------------


def _by_id(objects: list[dict]) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


SSA_POLICY = "kustomize.toolkit.fluxcd.io/ssa"


def manual_approval_problems(terraform: dict) -> list[str]:
    """Why an approval made in the cluster would not survive until tofu-controller applies.

    Approvals are made in the cluster (docs/flux.md#manual-approval): committed ones move the
    source revision that the plan id is derived from (flux-iac/tofu-controller#1878).
    """
    problems = []
    if "approvePlan" in terraform["spec"]:
        problems.append(
            "spec.approvePlan is in Git: Flux owns it and resets an in-cluster approval"
        )
    if terraform["metadata"].get("annotations", {}).get(SSA_POLICY) != "Merge":
        problems.append(
            f"{SSA_POLICY} is not Merge: Flux takes over fields set with kubectl and drops them"
        )
    return problems


def test_manual_approval_keeps_in_cluster_approvals():
    assert manual_approval_problems(one(render(MANUAL_DIR), "Terraform")) == []


def test_manual_approval_check_can_fail():
    # The auto layer, and the overlay as it was (approvePlan: "" in Git).
    auto = one(render(APP_DIR), "Terraform")
    assert len(manual_approval_problems(auto)) == 2
    old = copy.deepcopy(one(render(MANUAL_DIR), "Terraform"))
    old["spec"]["approvePlan"] = ""
    assert manual_approval_problems(old) != []


def test_auto_mode_keeps_flux_default_apply_policy():
    # In auto mode an in-cluster edit of the Terraform object must be reverted by Flux.
    tf = one(render(APP_DIR), "Terraform")
    assert SSA_POLICY not in tf["metadata"].get("annotations", {})


def test_manual_approval_overlay_changes_nothing_else():
    auto = _by_id(render(APP_DIR))
    manual = _by_id(render(MANUAL_DIR))
    assert auto.keys() == manual.keys()
    auto = copy.deepcopy(auto)
    manual = copy.deepcopy(manual)
    del auto[("Terraform", NAME)]["spec"]["approvePlan"]
    annotations = manual[("Terraform", NAME)]["metadata"].pop("annotations")
    assert annotations == {SSA_POLICY: "Merge"}
    assert auto == manual


# --- tests: commands the docs tell people to run against the Terraform object -----------

DOCS = (REPO / "docs" / "runbook.md", REPO / "docs" / "flux.md")
_FENCE = re.compile(r"^[ \t]*```[a-z]*\n(.*?)^[ \t]*```", re.M | re.S)
_INLINE = re.compile(r"`(kubectl [^`]+)`")
_PLACEHOLDER = re.compile(r"<([a-z ]+)>")


def documented_commands(prefix: str) -> list[tuple[str, list[str]]]:
    """Shell commands starting with `prefix` in the docs (code blocks and inline code)."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        lines = [
            line
            for block in _FENCE.findall(text)
            for line in block.replace("\\\n", " ").splitlines()
        ] + _INLINE.findall(_FENCE.sub("", text))
        for line in lines:
            line = line.split("  #")[0].strip()
            if line.startswith(prefix):
                found.append((doc.name, shlex.split(line)))
    return found


def _option(args: list[str], *names: str) -> str | None:
    for i, arg in enumerate(args):
        for name in names:
            if arg == name and i + 1 < len(args):
                return args[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (kubectl patch --type=merge)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target: dict, operations: list[dict]) -> dict:
    """RFC 6902 add/replace/remove on object members (kubectl patch --type=json)."""
    result = copy.deepcopy(target)
    for op in operations:
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node = result
        for key in parents:
            node = node[key]
        if op["op"] == "remove":
            del node[last]  # KeyError, as the API server would refuse
        elif op["op"] in ("add", "replace"):
            node[last] = op["value"]
        else:
            raise ValueError(f"unsupported op {op['op']}")
    return result


def apply_documented_patch(obj: dict, args: list[str]) -> dict:
    kind = _option(args, "--type") or "strategic"
    body = _PLACEHOLDER.sub(lambda m: m.group(1).replace(" ", "-") + "-1234", _option(args, "-p", "--patch"))
    if kind == "merge":
        return merge_patch(obj, json.loads(body))
    if kind == "json":
        return json_patch(obj, json.loads(body))
    raise AssertionError(f"use --type=merge or --type=json for the Terraform CRD, not {kind}")


def terraform_patches() -> list[tuple[str, list[str]]]:
    return [(doc, a) for doc, a in documented_commands("kubectl patch terraform ")]


def test_documented_terraform_patches_match_the_crd():
    patches = terraform_patches()
    assert patches, "the docs show no kubectl patch of the Terraform object"
    for directory in (APP_DIR, MANUAL_DIR):
        # In the order the docs give them (an approval is withdrawn after it was made).
        tf = one(render(directory), "Terraform")
        for doc, args in patches:
            tf = apply_documented_patch(tf, args)
            errors = schema_errors(tf)
            assert errors == [], f"{doc}: {shlex.join(args)}: {errors}"


def test_docs_approve_in_the_cluster_and_withdraw_the_approval():
    manual = one(render(MANUAL_DIR), "Terraform")
    steps = [args for _, args in terraform_patches() if "approvePlan" in _option(args, "-p")]
    approved = apply_documented_patch(manual, steps[0])
    assert approved["spec"]["approvePlan"] == "plan-id-1234"
    withdrawn = apply_documented_patch(approved, steps[1])
    assert "approvePlan" not in withdrawn["spec"]


def test_documented_patch_check_can_fail():
    # What `tfctl force-unlock` sets: a v1alpha1 field, absent from v1alpha2.
    tf = one(render(APP_DIR), "Terraform")
    args = shlex.split(
        "kubectl patch terraform users-authentik --type=merge "
        """-p '{"spec":{"backendConfig":{"state":{"forceUnlock":"<lock id>"}}}}'"""
    )
    assert schema_errors(apply_documented_patch(tf, args)) != []


def jsonpath_problems(schema: dict, expression: str) -> list[str]:
    """Fields of a kubectl jsonpath like {.status.lock.pending} that the schema lacks."""
    node = schema
    for step in expression.strip("{}").lstrip(".").split("."):
        name = step.split("[")[0]
        props = node.get("properties", {})
        if name not in props:
            return [f"{expression}: no field {name!r}"]
        node = props[name]
        if "[" in step:
            node = node.get("items", {})
    return []


def test_documented_terraform_jsonpaths_exist_in_the_crd():
    schema = json.loads((CRDS / SCHEMA_FILES[("infra.contrib.fluxcd.io/v1alpha2", "Terraform")]).read_text())
    paths = [
        (doc, _option(args, "-o").split("=", 1)[1].strip("'"))
        for doc, args in documented_commands("kubectl get terraform ")
        if (_option(args, "-o") or "").startswith("jsonpath=")
    ]
    assert len(paths) >= 2
    for doc, path in paths:
        assert jsonpath_problems(schema, path) == [], doc
    assert jsonpath_problems(schema, "{.status.lock.id}") != []
