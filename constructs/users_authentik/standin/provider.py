"""Stand-in for the goauthentik/authentik Terraform provider: TEST TOOLING, NOT AUTHENTIK.

Lets the real `terraform` CLI init/validate/plan/apply/destroy our modules offline. Every resource
and data source type, with its attributes, types and Required/Optional/Read-Only, is generated at
start-up from the vendored schema facts (schemas/vendor/authentik-provider/). Beyond the schema it
only knows documented defaults and enumerations; it stores nothing and talks to nobody, so
Read-Only values are made-up ids (or null / empty) and "apply" just echoes the plan.

Run as a program (`python -m users_authentik.standin.provider`) it serves the plugin protocol (via
the `tf` package); `serve.py` wraps it into a filesystem mirror that terraform can install from.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any, ClassVar, Optional, Type

from tf import types
from tf.iface import (
    Config,
    CreateContext,
    DataSource,
    DeleteContext,
    ImportContext,
    Provider,
    ReadContext,
    ReadDataContext,
    Resource,
    State,
    UpdateContext,
    UpgradeContext,
)
from tf.schema import Attribute, Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from ..data_files import data_dir

# In a checkout schemas/ is at its root; an installed wheel carries the facts (pyproject.toml).
FACTS_PATH = data_dir("schemas") / "vendor" / "authentik-provider" / "schema-v2026.5.0.json"
PROVIDER_SOURCE = "goauthentik/authentik"
TYPE_PREFIX = "authentik_"

# Read-Only attributes that hold an identifier: these get made-up ids. Other Read-Only attributes
# are data the stand-in cannot know, so they stay null (collections: empty) instead of inventing it.
ID_ATTRIBUTES = frozenset({"id", "uuid", "pk", "num_pk", "uid", "client_id"})
# Integer primary keys: users (authentik_group.users is a List of Number of user ids) and
# providers (authentik_application.protocol_provider is a Number).
NUMERIC_ID_TYPES = frozenset({"authentik_user", "authentik_provider_oauth2"})
# Fixed namespace so that the same inputs give the same made-up ids on every run.
_ID_NAMESPACE = uuid.UUID("5d3a3f4e-0000-4000-8000-57a4d1f0a7e0")


# A JSON file describing "the live Authentik" the stand-in pretends to talk to (tests set it):
# {"users": [{"pk": 7, "username": "akadmin", "is_superuser": true, ...}],
#  "groups": [{"pk": "<uuid>", "name": "authentik Admins", "is_superuser": true, ...}]}.
# When it is set, the user and group data sources look objects up there as the real provider
# does (by pk, else username / name; none found is an error) and importing one of them starts
# from its values. Unset, data sources just echo their arguments.
DIRECTORY_ENV = "STANDIN_AUTHENTIK_DIRECTORY"
# type -> (section of the directory file, lookup arguments in the order the provider tries them)
LOOKUPS = {"authentik_user": ("users", ("pk", "username")), "authentik_group": ("groups", ("pk", "name"))}


def load_directory() -> Optional[dict[str, list[dict[str, Any]]]]:
    path = os.environ.get(DIRECTORY_ENV)
    return json.loads(Path(path).read_text()) if path else None


def find_object(type_name: str, key: str, value: Any) -> Optional[dict[str, Any]]:
    """The directory's object of `type_name` whose `key` equals `value` (pk compared as text)."""
    directory = load_directory() or {}
    section = LOOKUPS[type_name][0]
    def same(found: Any) -> bool:
        return str(found) == str(value) if key == "pk" else found == value

    return next((obj for obj in directory.get(section, []) if same(obj.get(key))), None)


def load_facts(path: Path = FACTS_PATH) -> dict[str, Any]:
    """The vendored schema facts (see schemas/vendor/README.md for the layout)."""
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- types


class ObjectType(types.TfType):
    """cty object with documented attribute types (used for nested facts that list attributes)."""

    def __init__(self, attributes: dict[str, types.TfType]):
        self.attributes = attributes

    def encode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return {k: t.encode(value.get(k)) for k, t in self.attributes.items()}

    def decode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return {k: t.decode(value.get(k)) for k, t in self.attributes.items()}

    def tf_type(self) -> bytes:
        fields = ",".join(f"{json.dumps(k)}:{t.tf_type().decode()}" for k, t in sorted(self.attributes.items()))
        return f'["object",{{{fields}}}]'.encode()


class OpaqueObjectList(types.TfType):
    """A Read-Only "List of Object" whose object attributes the facts do not document.

    Declared `dynamic` so terraform accepts any attribute access on its elements (an empty object
    type would reject real code such as `[for u in x.users_obj : u.username]`). The stand-in only
    ever returns an empty list, sent in cty's msgpack form for dynamic values: [type JSON, value].
    """

    _WIRE_TYPE = b'["list",["object",{}]]'

    def encode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        if value:
            raise ValueError("the stand-in only returns empty lists for undocumented objects")
        return [self._WIRE_TYPE, []]

    def decode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return value[1] if isinstance(value, list) and len(value) == 2 and isinstance(value[0], bytes) else value

    def tf_type(self) -> bytes:
        return b'"dynamic"'


def parse_type(text: str, nested: Optional[dict[str, dict[str, Any]]] = None) -> types.TfType:
    """Terraform type for a facts type string such as "List of Map of String".

    `nested` is the facts entry describing the object's attributes (for "... of Object").
    """
    scalars: dict[str, types.TfType] = {"String": types.String(), "Boolean": types.Bool(), "Number": types.Number()}
    if text in scalars:
        return scalars[text]
    for prefix, collection in (("List of ", types.List), ("Set of ", types.Set), ("Map of ", types.Map)):
        if text.startswith(prefix):
            inner = text[len(prefix) :]
            if inner == "Object" and not nested:
                if collection is types.List:
                    return OpaqueObjectList()
                raise ValueError(f"undocumented object in {text!r} is only supported inside a List")
            return collection(parse_type(inner, nested))
    if text == "Object" and nested:
        return ObjectType({name: parse_type(info["type"]) for name, info in nested.items()})
    raise ValueError(f"unsupported type in schema facts: {text!r}")


def parse_default(info: dict[str, Any], tftype: types.TfType) -> Any:
    """The documented default as a Python value, or Unknown when there is none we can use."""
    raw = info.get("default")
    if raw is None:
        return Unknown
    if isinstance(tftype, types.Bool):
        return {"true": True, "false": False}.get(raw, Unknown)
    if isinstance(tftype, types.Number):
        try:
            return int(raw)
        except ValueError:
            try:
                return float(raw)
            except ValueError:
                return Unknown
    if isinstance(tftype, types.String):
        return raw
    return Unknown  # defaults of collections are not documented as values we could parse


# --------------------------------------------------------------------------- attributes


class FactAttribute(Attribute):
    """A tf Attribute plus the facts the stand-in enforces (enumeration)."""

    def __init__(
        self, name: str, info: dict[str, Any], nested: Optional[dict[str, Any]] = None, *, provider: bool = False
    ):
        tftype = parse_type(info["type"], nested)
        default = parse_default(info, tftype)
        section = info["section"]
        if provider:
            # The real provider falls back to AUTHENTIK_URL/AUTHENTIK_TOKEN, so nothing is required.
            flags = {"optional": True}
        elif section == "Required":
            flags = {"required": True}
        elif section == "Read-Only":
            flags = {"computed": True}
        elif name == "uuid" and default is Unknown:
            # An object's own pk (authentik_application, the sources): the real provider computes
            # it; the docs list Optional+Computed as Optional. Unset, it gets a made-up id.
            flags = {"optional": True, "computed": True}
        elif default is not Unknown:
            # Optional with a documented default: computed so the plan can show the default.
            flags = {"optional": True, "computed": True}
        else:
            flags = {"optional": True}
        super().__init__(
            name,
            tftype,
            sensitive=bool(info.get("sensitive")),
            deprecated=bool(info.get("deprecated")) or None,
            default=default if flags.get("computed") else Unknown,
            **flags,
        )
        self.allowed: Optional[list[str]] = info.get("allowed")
        # Only Optional attributes with a documented default are planned back to it (see main()).
        self.has_default = bool(flags.get("optional") and flags.get("computed") and default is not Unknown)
        self.read_only = section == "Read-Only"


def build_attributes(type_facts: dict[str, dict[str, Any]], *, provider: bool = False) -> list[FactAttribute]:
    """Attributes of one type from its facts entry ({"": attrs, "nested.path": attrs, ...})."""
    attrs = []
    for name, info in sorted(type_facts.get("", {}).items()):
        nested = _nested_facts(type_facts, name) if info.get("nested") else None
        attrs.append(FactAttribute(name, info, nested, provider=provider))
    return attrs


def _nested_facts(type_facts: dict[str, dict[str, Any]], path: str) -> Optional[dict[str, Any]]:
    """Facts of a nested object's attributes, if documented (objects nested deeper stay opaque)."""
    return type_facts.get(path) or None


def check_enumerations(diags: Diagnostics, type_name: str, config: Config, attrs: list[FactAttribute]) -> None:
    """Reject known values outside a documented enumeration (unknown values are checked at plan)."""
    for attr in attrs:
        if not attr.allowed or config.get(attr.name) is None or config[attr.name] is Unknown:
            continue
        value = config[attr.name]
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v is not Unknown and v is not None and v not in attr.allowed]
        if bad:
            choices = ", ".join(json.dumps(a) for a in attr.allowed)
            diags.add_error(
                f'Invalid value for "{attr.name}"',
                f"{type_name}.{attr.name}: expected one of {choices}; got {', '.join(json.dumps(b) for b in bad)}"
                " (documented enumeration, checked by the stand-in provider)",
                path=[attr.name],
            )


# --------------------------------------------------------------------------- made-up values


def made_up_value(type_name: str, attr: FactAttribute, seed: str, values: dict[str, Any],
                  data_source: bool = False) -> Any:
    """A Read-Only value: a stable-looking id for id attributes, otherwise null/empty."""
    if attr.name in ID_ATTRIBUTES:
        if type_name == "authentik_flow" and attr.name == "id" and values.get("slug") and not data_source:
            # The flow resource's id is its slug; the flow data source's id is the uuid.
            return values["slug"]
        digest = uuid.uuid5(_ID_NAMESPACE, f"{type_name}/{attr.name}/{seed}")
        number = 1000 + int.from_bytes(hashlib.sha256(digest.bytes).digest()[:4], "big") % 9_000_000
        if isinstance(attr.type, types.Number):
            return number
        if isinstance(attr.type, types.String):
            return str(number) if type_name in NUMERIC_ID_TYPES and attr.name == "id" else str(digest)
    if isinstance(attr.type, (types.List, types.Map, OpaqueObjectList)):  # Set is a List subclass
        return {} if isinstance(attr.type, types.Map) else []
    return None


def _seed(values: dict[str, Any], attrs: list[FactAttribute]) -> str:
    """What makes an object distinct: its configurable, known values."""
    known = {a.name: values.get(a.name) for a in attrs if not a.read_only and values.get(a.name) is not Unknown}
    return json.dumps(known, sort_keys=True, default=str)


def fill_computed(type_name: str, values: dict[str, Any], attrs: list[FactAttribute],
                  data_source: bool = False) -> dict[str, Any]:
    """Replace values still unknown after planning (Read-Only ones) with made-up values."""
    seed = _seed(values, attrs)
    filled = dict(values)
    for attr in attrs:
        if filled.get(attr.name, Unknown) is Unknown:
            filled[attr.name] = made_up_value(type_name, attr, seed, values, data_source)
    return filled


# --------------------------------------------------------------------------- resources and data sources


class _FromFacts:
    """Name, schema and validation of a generated class, all from the schema facts."""

    type_name: ClassVar[str]
    attrs: ClassVar[list[FactAttribute]]

    def __init__(self, provider: "StandinProvider"):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.type_name[len(TYPE_PREFIX) :]

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(attributes=list(cls.attrs))

    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        super().validate(diags, type_name, config)
        check_enumerations(diags, type_name, config, self.attrs)


class FactsResource(_FromFacts, Resource):
    """Base of the generated resource classes: validation from facts, CRUD that echoes the plan."""

    def create(self, ctx: CreateContext, planned: State) -> State:
        return fill_computed(self.type_name, planned, self.attrs)

    def read(self, ctx: ReadContext, current: State) -> State:
        return current  # nothing changes behind terraform's back in the stand-in

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State:
        return fill_computed(self.type_name, planned, self.attrs)

    def delete(self, ctx: DeleteContext, current: State) -> None:
        return None

    def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State:
        return old  # one schema version only; tf's default would warn on every state read

    def import_(self, ctx: ImportContext, id: str) -> State:
        # Adopting an object: the stand-in knows only its id; everything else is a documented
        # default or unset, so the plan that follows shows the module setting it (an update).
        state = {a.name: id if a.name == "id" else (a.default if a.default is not Unknown else None)
                 for a in self.attrs}
        live = find_object(self.type_name, "pk", id) if self.type_name in LOOKUPS else None
        if live is not None:  # from the directory file: the object as "Authentik" has it
            state.update({a.name: live[a.name] for a in self.attrs if a.name in live and a.name != "id"})
        return state


class FactsDataSource(_FromFacts, DataSource):
    """Base of the generated data source classes: echoes the config, makes up Read-Only ids
    (users and groups: looked up in the directory file instead, when one is set)."""

    def read(self, ctx: ReadDataContext, config: Config) -> Optional[State]:
        values = dict(config)
        if self.type_name in LOOKUPS and load_directory() is not None:
            key = next((k for k in LOOKUPS[self.type_name][1] if values.get(k) is not None), None)
            live = find_object(self.type_name, key, values[key]) if key else None
            if live is None:
                ctx.diagnostics.add_error(f"No matching {LOOKUPS[self.type_name][0]} found",
                                          f"{self.type_name}: nothing with {key} = {values.get(key)!r} in the "
                                          f"stand-in's directory ({DIRECTORY_ENV})")
                return None
            values.update({a.name: live[a.name] for a in self.attrs if a.name in live})
            values["id"] = str(live["pk"])
        for attr in self.attrs:
            if values.get(attr.name) is None and attr.computed and attr.default is not Unknown:
                values[attr.name] = attr.default
            elif attr.read_only and values.get(attr.name) is None:
                values[attr.name] = Unknown
        state = fill_computed(self.type_name, values, self.attrs, data_source=True)
        # tf sends data source state as is, so encode here (matters for OpaqueObjectList).
        return {a.name: a.type.encode(state.get(a.name)) for a in self.attrs}


def _make_class(base: type, type_name: str, type_facts: dict[str, Any]) -> type:
    attrs = build_attributes(type_facts)
    class_name = "".join(part.title() for part in type_name.split("_"))
    return type(class_name, (base,), {"type_name": type_name, "attrs": attrs})


class StandinProvider(Provider):
    """Provider whose types all come from the schema facts."""

    def __init__(self, facts: Optional[dict[str, Any]] = None):
        self.facts = facts if facts is not None else load_facts()
        self._resources = [_make_class(FactsResource, t, f) for t, f in sorted(self.facts["resources"].items())]
        self._data_sources = [_make_class(FactsDataSource, t, f) for t, f in sorted(self.facts["data_sources"].items())]

    def get_model_prefix(self) -> str:
        return TYPE_PREFIX

    def full_name(self) -> str:
        return f"registry.terraform.io/{PROVIDER_SOURCE}"

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(attributes=build_attributes(self.facts["provider"], provider=True))

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        return None  # never connects anywhere

    def get_resources(self) -> list[Type[Resource]]:
        return list(self._resources)

    def get_data_sources(self) -> list[Type[DataSource]]:
        return list(self._data_sources)


def main(argv: Optional[list[str]] = None) -> None:
    from tf.runner import run_provider

    argv = argv or sys.argv
    _install_default_replanning()
    if "--dev" not in argv:
        run_provider(StandinProvider(), argv)
        return
    _stop_with_stdin()
    try:
        run_provider(StandinProvider(), argv)
    except KeyboardInterrupt:
        pass  # served: how it is told to stop (below); the tf package has removed its socket
    # In dev mode the tf package never stops its gRPC server, and the interpreter's exit then
    # waits on the server's threads, at times for ever: with the socket gone, end here.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _stop_with_stdin() -> None:
    """Served (serve.ServedProvider, the `tf` package's --dev mode), the provider stops when its
    stdin, a pipe only its owner holds, reaches end of file: also when the owner is killed.
    KeyboardInterrupt is how the tf package ends dev mode and removes its socket. SIGINT raises
    it once (a shell starts background jobs with SIGINT ignored; Ctrl-C, this pipe and the owner's
    close() may each send one, and a second would cut the socket's removal short)."""
    import signal
    import threading

    def interrupt_once(signum: int, frame: object) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt_once)

    def watch() -> None:
        # The file descriptor, not sys.stdin: a daemon thread blocked inside a buffered reader
        # holds its lock, and the interpreter then aborts at exit (a provider that failed to start).
        while os.read(0, 65536):
            pass
        os.kill(os.getpid(), signal.SIGINT)  # the handler runs in the main thread, in wait_for_termination

    threading.Thread(target=watch, name="stop-with-stdin", daemon=True).start()


def _install_default_replanning() -> None:
    """Plan documented defaults again when an attribute is removed from the config.

    tf plans an Optional+computed attribute whose config is null as its prior value; the real
    (SDKv2) provider injects the default instead, so e.g. dropping `is_active = false` plans
    `is_active = true`. tf does not pass the config to Resource.plan, hence this servicer hook.
    """
    import tf.provider as tfp
    from tf.utils import read_dynamic_value, to_dynamic_value

    class DefaultsServicer(tfp.ProviderServicer):
        def PlanResourceChange(self, request, context):  # noqa: N802 (gRPC method name)
            response = super().PlanResourceChange(request, context)
            prior = read_dynamic_value(request.prior_state)
            if prior is None or not response.HasField("planned_state"):
                return response  # create (defaults already planned) or error
            config = read_dynamic_value(request.config) or {}
            planned = read_dynamic_value(response.planned_state)
            klass = self._get_res_cls(request.type_name)
            for attr in getattr(klass, "attrs", []):
                if attr.has_default and config.get(attr.name) is None:
                    planned[attr.name] = attr.type.encode(attr.default)
            response.planned_state.CopyFrom(to_dynamic_value(planned))
            return response

    # run_provider looks the servicer class up in tf.provider at call time.
    tfp.ProviderServicer = DefaultsServicer  # type: ignore[misc]


if __name__ == "__main__":
    main()
