"""`users-authentik init`: a new data directory in a fleet repository, and its Flux layers.

Written (nothing is overwritten; all or nothing):
- DIR (e.g. flux-apps/users): users.json with one admin, settings.json with brand.domain,
  the JSON Schemas beside them (`$schema` resolves there, offline), and the Flux app layer;
- CLUSTERS/CLUSTER/apps/users-authentik: the cluster layer (settings ConfigMap with app_path
  and module_path pointing at DIR, the Flux Kustomization) and an example Vault
  ClusterSecretStore that is not applied.
The Flux manifests are this package's own flux/ (data_files.py), so they are written once.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Callable

from .data_files import data_dir
from .gitref import run_git
from .loading import Sources, validate
from .problems import Problem
from .report import format_problems

SCHEMA_FILES = ("users.schema.json", "settings.schema.json")
APP_LAYER = "apps/users"  # under flux/: written into DIR
CLUSTER_LAYER = "clusters/stefanzhelev/apps/users-authentik"  # under flux/: the cluster layer
EXAMPLE_STORE = "clustersecretstore-vault.yaml.example"
# The cluster layer's settings as this repository uses them (this repo is its own Flux
# source); init replaces them with DIR's paths from the repository's root.
SETTING_LINES = {"app_path": "  app_path: ./flux/apps/users\n", "module_path": "  module_path: ./generated\n"}
APPROVAL_LINE = "  # Point it at ./flux/apps/users-manual-approval for the manual-approval variant.\n"
SETTINGS_NOTE = ("# The defaults fit this repository used as the Flux source (module at ./generated).\n"
                 "# For the fleet layout (flux-apps/users, flux-clusters/<cluster>/apps/users-authentik)\n"
                 "# change app_path and module_path as listed in docs/flux.md.\n")


def _manifests(layer: str) -> dict[str, bytes]:
    folder = data_dir("flux") / layer
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".yaml"}


def _schemas() -> dict[str, bytes]:
    return {name: (data_dir("schemas") / name).read_bytes() for name in SCHEMA_FILES}


def stale_schema_notes(root: Path) -> list[str]:
    """Notes for schema copies beside users.json (what init writes) that are not this
    version's: checks use the package's own; editors would complete from the old copy."""
    return [f"note: {name} beside users.json is not this version's schema (editors complete from it); "
            f"refresh it with `users-authentik init --schemas -C {root}`"
            for name, data in _schemas().items()
            if (root / name).is_file() and (root / name).read_bytes() != data]


def _repo_top(start: Path) -> Path:
    """The git work tree holding `start` (which may not exist yet), else the current directory."""
    existing = next(p for p in [start, *start.parents] if p.is_dir())
    top = run_git(existing, "rev-parse", "--show-toplevel")
    return Path(top.stdout.decode().strip()) if top.returncode == 0 else Path.cwd()


def _settings_yaml(template: bytes, data_path: str) -> bytes:
    text = template.decode("utf-8")
    for line in (*SETTING_LINES.values(), APPROVAL_LINE):
        if line not in text:  # the template changed: fail loudly here, not in a cluster
            raise RuntimeError(f"flux/{CLUSTER_LAYER}/settings.yaml has no line {line.strip()!r}")
    value = {"app_path": data_path, "module_path": f"{data_path}/generated" if data_path != "." else "./generated"}
    for key, line in SETTING_LINES.items():
        text = text.replace(line, f"  {key}: {value[key]}\n")
    # init writes no overlay of its own: docs/flux.md says where to copy it from.
    approval = f"{data_path}-manual-approval" if data_path != "." else "users-manual-approval"
    text = text.replace(APPROVAL_LINE, f"  # Manual approval: copy users-authentik's flux/apps/users-manual-approval to\n"
                                       f"  # {approval} and point app_path at it (docs/flux.md).\n")
    return text.replace(SETTINGS_NOTE, "# app_path and module_path were written by `users-authentik init` for this\n"
                                       "# repository (paths from its root, as Flux reads them).\n").encode("utf-8")


def _documents(args: argparse.Namespace) -> dict[str, bytes]:
    users = {"$schema": "./users.schema.json",
             "users": {args.admin: {"name": args.name, "email": args.email, "groups": ["admins"], "is_admin": True}}}
    settings = {"$schema": "./settings.schema.json", "brand": {"domain": args.domain}}
    return {name: (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            for name, doc in (("users.json", users), ("settings.json", settings))}


def _check(documents: dict[str, bytes]) -> list[Problem]:
    """What init would write, checked as synth checks it (an invalid --email is refused here)."""
    return list(validate(Sources(documents)).problems)


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# What a path init writes into YAML (settings.yaml, which Flux substitutes into the quoted
# `path: "${module_path}"` of the Terraform object) and prints in shell commands may hold: a
# line break, quote, `#`, `: ` or `${` there would be YAML or a substitution of its own.
# No part may start with "-": `git add -rf …` in the next steps would read it as options.
_PLAIN_PATH = re.compile(r"(?!-)(?:[A-Za-z0-9._-]|/(?!-))+")


def _not_plain(option: str, value: str, example: str) -> Problem:
    return Problem("(command line)", option, f"{json.dumps(value)} has characters other than letters, digits and "
                   "- _ . / (or a part starting with -), and init writes it into YAML and shell commands",
                   f"use a directory of such a name, e.g. {example}")


def run_init(root: Path, args: argparse.Namespace, *, synth: Callable[[Path], int]) -> int:
    """`synth(root)` writes generated/ into the new scaffold (the CLI's synth; passed in, so
    this module needs nothing of the CLI) and returns its exit status."""
    if args.schemas:
        root.mkdir(parents=True, exist_ok=True)
        for name, data in _schemas().items():
            (root / name).write_bytes(data)
        print(f"wrote {', '.join(_shown(root / n) for n in SCHEMA_FILES)}")
        return 0
    problems = []
    one_name = bool(args.cluster) and "/" not in args.cluster and args.cluster not in (".", "..")
    if not one_name:
        problems.append(Problem("(command line)", "--cluster", "names no cluster directory" if not args.cluster
                                else f'"{args.cluster}" is not one directory name',
                                "name the cluster's directory under flux-clusters, e.g. --cluster stefanzhelev"))
    elif not _PLAIN_PATH.fullmatch(args.cluster):
        problems.append(_not_plain("--cluster", args.cluster, "--cluster stefanzhelev"))
    top = _repo_top(root.resolve())
    try:
        data_path = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        data_path = None
        problems.append(Problem("(command line)", "-C", f"{root} is outside the repository at {top}",
                                "run init from the fleet repository's root, e.g. -C flux-apps/users"))
    if data_path is not None and not _PLAIN_PATH.fullmatch(data_path):
        problems.append(_not_plain("-C", data_path, "-C flux-apps/users"))
    # Absolute, "..", or through a link (its folder, the cluster's): may leave the repository.
    # A --cluster refused above is left out, so that its problem is not blamed on --clusters too.
    layer = (top / args.clusters / (args.cluster if one_name else ".") / "apps" / "users-authentik").resolve()
    if not layer.is_relative_to(top.resolve()):
        problems.append(Problem("(command line)", "--clusters", f"{args.clusters} is outside the repository at {top}",
                                "name the folder of the cluster directories from the repository's root, "
                                "e.g. --clusters flux-clusters"))
    elif not _PLAIN_PATH.fullmatch(args.clusters.as_posix()):
        problems.append(_not_plain("--clusters", args.clusters.as_posix(), "--clusters flux-clusters"))
    documents = _documents(args)
    problems += _check(documents)
    if problems:
        sys.stderr.write(format_problems(problems, "the fleet repository"))
        return 1
    data_path = "." if data_path == "." else f"./{data_path}"
    cluster_dir = top / args.clusters / args.cluster / "apps" / "users-authentik"
    cluster = _manifests(CLUSTER_LAYER)
    cluster["settings.yaml"] = _settings_yaml(cluster["settings.yaml"], data_path)
    cluster[EXAMPLE_STORE] = (Path(__file__).parent / "templates" / EXAMPLE_STORE).read_bytes()
    files = {**{root / n: d for n, d in documents.items()}, **{root / n: d for n, d in _schemas().items()},
             **{root / n: d for n, d in _manifests(APP_LAYER).items()},
             **{cluster_dir / n: d for n, d in cluster.items()}}
    existing = [Problem(_shown(p), "(file)", "exists already", "init writes a new directory only: move it away, "
                        "or edit it by hand (docs/flux.md)") for p in files if p.exists() or p.is_symlink()]
    if existing:
        sys.stderr.write(format_problems(existing, "the fleet repository"))
        return 1
    for path, data in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    print("wrote:\n" + "".join(f"  {_shown(p)}\n" for p in files), end="", flush=True)
    # generated/ too, so the first commit holds it: pre-commit notices a hook's change to a
    # tracked file, not a file it created.
    status = synth(root)
    if status:
        sys.stderr.write(f"the scaffold is written, but not generated/: fix the above, then run "
                         f"`users-authentik synth -C {_shown(root)}`\n")
        return status
    print(_next_steps(root, cluster_dir, args))
    return 0


def _next_steps(root: Path, cluster_dir: Path, args: argparse.Namespace) -> str:
    data, layer = _shown(root), _shown(cluster_dir)
    clusters = _shown(cluster_dir.parent.parent)
    return f"""
Next steps (docs/flux.md has each in full):
  1. {data}/users.json: the first admin ({args.admin}, {args.email}); {data}/settings.json:
     brand.domain, the host name people sign in at (now {args.domain}).
  2. {layer}/settings.yaml: authentik_url, secret_store, vault_key, vault_property;
     users-authentik.yaml: spec.dependsOn names your cluster's Kustomizations.
  3. Make the cluster's root Kustomization apply {layer} (add apps/users-authentik to
     {clusters}/kustomization.yaml if there is one).
  4. The Authentik token: a service account with the permissions in docs/flux.md, its token
     in Vault at vault_key (field vault_property), read through the ClusterSecretStore
     secret_store ({EXAMPLE_STORE} is an example, not applied).
  5. .pre-commit-config.yaml: add this repository's hook `users-authentik` with
     args: [--dir, {data}] and files: ^{data}/ (docs/flux.md "Using it in a fleet repository"); CI: action.yml.
  6. git add {data} {layer} && git commit   # the hook keeps {data}/generated/ in step
     (after editing users.json or settings.json by hand: users-authentik synth -C {data})
"""
