"""The validated model: what the constructs are built from. Plain, frozen, sorted.

`User` and `Group` are also the one declaration of an entry's fields. Each field's `Key`
(its dataclasses metadata) says how the field is written everywhere else, and everything
else reads it from there:
- its users.json key and JSON Schema: tools/gen_schema.py writes the entries' `properties`
  of schemas/users.schema.json from entry_schema() (a test holds the two equal), and
  build_roster reads the keys and their defaults;
- its key in the rows (`local.users` / `local.groups` in users.tf.json, synth.row_writer),
  and the provider attribute the construct sets to `each.value.<row key>` (attributes());
- whether `diff` lists a change of it (diff_fields(); changes.py).
A new field is one declaration here (plus its tests); check.py keeps the rules about
fields, which are not declarations.
"""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, field, fields
from functools import cache
from itertools import chain
from operator import attrgetter
from typing import Any, Callable, ClassVar

from .settings import Settings


@dataclass(frozen=True)
class Key:
    """How one model field is written outside Python."""

    json_key: str  # its key in a users.json entry
    schema: dict[str, Any]  # its JSON Schema; "default" there is the value of an absent key
    required: bool = False  # the entry must have it
    read: Callable[[Any], Any] | None = None  # users.json value (or default) -> model value
    settings_default: Callable[[Settings], Any] | None = None  # the value of an absent key, from settings
    row: str | None = None  # its key in the rows: constructs read it as each.value.<row>
    row_if_set: bool = False  # the row carries it only when true (older rows stay as they were)
    attribute: str | None = None  # the provider attribute set to each.value.<row>
    diff: bool = True  # `diff` lists its changes (False: reported in a way of its own)


def key(json_key: str, schema: dict[str, Any], **how: Any) -> Any:
    """A dataclass field declared by its Key."""
    return field(metadata={Key: Key(json_key, schema, **how)})


# The reads refuse what they would convert into a value of the right type ("dev" into the
# groups d, e, v; [1] into the attributes text "[1]"): well_typed, which judges an unchecked
# committed base, sees only what they return. A field without a read (an id: 5.0, -0.0 and
# true are no int) is judged as written.
def _tuple_sorted(value: list[str]) -> tuple[str, ...]:
    if type(value) is not list:
        raise TypeError(f"not a list: {value!r}")
    return tuple(sorted(value))


def _lower_or_none(value: str | None) -> str | None:
    return None if value is None else value.lower()


# Go's encoding/json (the provider's) escapes these; writing them the same way keeps a
# group's attributes text equal to what the provider reads back, so no plan shows a diff.
_GO_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                             "\u2028": "\\u2028", "\u2029": "\\u2029"})


def provider_json(value: Any) -> str:
    """JSON text as the provider marshals it: sorted keys, compact, UTF-8, Go's escapes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).translate(_GO_ESCAPES)


def _object_json(value: dict[str, Any]) -> str:
    if type(value) is not dict:
        raise TypeError(f"not an object: {value!r}")
    return provider_json(value)


_TRUE_OR_FALSE = "use true or false, without quotes"


@dataclass(frozen=True)
class User:
    username: str  # the entry's key in users.json "users"
    name: str = key("name", {
        "type": "string",
        "minLength": 1,
        "description": "Display name, e.g. \"Stefan Zhelev\".",
        "x-fix": "set \"name\" to the person's display name, e.g. \"Ada Lovelace\""},
        required=True, row="name", attribute="name")
    # The pattern means name@a.b (no @ or space, a dot inside the domain), written so the
    # regular expression cannot backtrack: "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$" tried every dot of
    # the domain with every end, so one 100 KB email of dots took a minute to refuse
    # (tests/test_validation.py). The domain's first character, then up to its first dot
    # after that, then anything ending in a character: one way to read each text.
    email: str = key("email", {
        "type": "string",
        "pattern": "^[^@\\s]+@[^@\\s][^@\\s.]*\\.[^@\\s]*[^@\\s]$(?!\\n)",
        "description": "Email address; recovery links are sent here. Unique (case-insensitive).",
        "x-problem": "is not an email address",
        "x-fix": "write it as name@domain, e.g. ada@example.org"},
        required=True, row="email", attribute="email")
    # Sorted; the superuser group is not listed here. The construct turns the names into
    # group ids; diff lists them as memberships.
    groups: tuple[str, ...] = key("groups", {
        "type": "array",
        "items": {"$ref": "#/$defs/groupName"},
        "uniqueItems": True,
        "default": [],
        "description": "Group names (NetBird group names). Direct memberships only.",
        "x-fix": "list each group once, as a JSON list of names, e.g. [\"admins\", \"dev\"]"},
        read=_tuple_sorted, row="groups", diff=False)
    path: str = key("path", {
        "type": "string",
        "minLength": 1,
        "pattern": "^[^/\\s]+(/[^/\\s]+)*$(?!\\n)",
        "description": "Authentik user path (folder in the admin UI). Defaults to settings.json users.path.",
        "x-problem": "is not an Authentik user path",
        "x-fix": "use slash-separated words without spaces, e.g. \"users/engineering\""},
        settings_default=lambda settings: settings.users.path, row="path", attribute="path")
    # The construct grants it as membership of the superuser group.
    is_admin: bool = key("is_admin", {
        "type": "boolean",
        "default": False,
        "description": "Grants Authentik superuser rights through membership of the superuser group (settings.json users.superuser_group).",
        "x-fix": _TRUE_OR_FALSE},
        row="is_admin")
    # diff lists it as a suspension or a re-activation.
    active: bool = key("active", {
        "type": "boolean",
        "default": True,
        "description": "false suspends the account: it keeps its passkeys and devices but cannot sign in.",
        "x-fix": _TRUE_OR_FALSE},
        row="is_active", attribute="is_active", diff=False)
    # Adopt this existing account: an import block (synth.py), not a row.
    authentik_id: int | None = key("authentik_id", {
        "type": "integer",
        "minimum": 1,
        "maximum": 2147483647,
        "x-problem": "is not an Authentik user id (a whole number from 1, the user's pk)",
        "description": "Adopt an account that already exists in Authentik: its numeric id (pk), shown in the admin UI address /if/admin/#/identity/users/<id>. Emits a Terraform import block, so the account (and its passkeys) is taken over instead of created. See docs/offboarding.md.",
        "x-fix": "write the user's numeric Authentik id without quotes, e.g. 42 (admin UI: Directory > Users > the user; the number at the end of the address)"})
    # The username before: a moved block (synth.py) keeps the account; diff lists it as a rename.
    renamed_from: str | None = key("renamed_from", {
        "type": "string",
        "minLength": 1,
        "maxLength": 150,
        "pattern": "^[\\w.@+-]+$(?!\\n)",
        "x-problem": "is not a username Authentik accepts (1 to 150 characters: letters, digits and @ . + - _)",
        "description": "The username this entry had before: the account is renamed in place (a Terraform moved block) and keeps its passkeys and MFA devices, instead of being deleted and created anew. Keep it until Flux has applied the rename; see docs/offboarding.md.",
        "x-fix": "write the entry's previous username, e.g. \"ada\""},
        diff=False)

    # Keys an entry may not have, and why (JSON Schema `"not": {}`).
    REFUSED: ClassVar[dict[str, dict[str, Any]]] = {"password": {
        "not": {},
        "description": "Not allowed.",
        "x-problem": "passwords must never be stored in git (generated/ is committed and the Terraform state would keep it)",
        "x-fix": "remove \"password\"; the person sets their own password and passkey through the enrollment flow (see the README, Onboarding)"}}


@dataclass(frozen=True)
class Group:
    name: str  # the entry's key in users.json "groups" (or a name users give)
    # A NetBird group: its members may sign in to NetBird (netbird.py).
    netbird: bool = key("netbird", {
        "type": "boolean",
        "default": False,
        "description": "A NetBird group: with settings.json netbird enabled, its members may sign in to NetBird, and NetBird receives its name in the entitlements claim (an application entitlement of the same name). Groups without it never reach NetBird. See docs/netbird.md.",
        "x-fix": _TRUE_OR_FALSE},
        row="netbird", row_if_set=True)
    # JSON text, as the provider takes it; keys sorted.
    attributes: str = key("attributes", {
        "type": "object",
        "default": {},
        "description": "Free-form Authentik group attributes (stored as JSON on the group).",
        "x-fix": "use a JSON object, e.g. {\"team\": \"platform\"}"},
        read=_object_json, row="attributes", attribute="attributes")
    # Adopt this existing group (UUID, lower case): an import block (synth.py), not a row.
    authentik_id: str | None = key("authentik_id", {
        "type": "string",
        "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$(?!\\n)",
        "description": "Adopt a group that already exists in Authentik: its id (a UUID), shown in the admin UI address /if/admin/#/identity/groups/<uuid>. Emits a Terraform import block. See docs/offboarding.md.",
        "x-problem": "is not an Authentik group id (a UUID such as \"3f2c9a4e-8d1b-4c6f-9e2a-7b5d0c1e4f8a\")",
        "x-fix": "copy the group's UUID from the admin UI (Directory > Groups > the group; the end of the address) or from /api/v3/core/groups/?name=<name> (its \"pk\")"},
        read=_lower_or_none)

    REFUSED: ClassVar[dict[str, dict[str, Any]]] = {}


Entity = type[User] | type[Group]


@cache
def declared(cls: Entity) -> tuple[tuple[str, Key], ...]:
    """(field name, Key) of each declared field, in declaration order. The first field,
    which has no Key, is the entry's name: its key in users.json."""
    return tuple((f.name, f.metadata[Key]) for f in fields(cls) if Key in f.metadata)


def entry_schema(cls: Entity) -> dict[str, Any]:
    """The JSON Schema of one users.json entry (schemas/users.schema.json $defs)."""
    required = [k.json_key for _, k in declared(cls) if k.required]
    return {"type": "object", **({"required": required} if required else {}), "additionalProperties": False,
            "properties": {**{k.json_key: k.schema for _, k in declared(cls)}, **cls.REFUSED}}


def row_fields(cls: Entity) -> tuple[tuple[str, str, bool], ...]:
    """(row key, field name, only when set) of each field the rows carry."""
    return tuple((k.row, name, k.row_if_set) for name, k in declared(cls) if k.row is not None)


def row_key(cls: Entity, name: str) -> str:
    """The key field `name` has in the rows (KeyError if the rows do not carry it)."""
    row = dict(declared(cls))[name].row
    if row is None:
        raise KeyError(f"{cls.__name__}.{name} is not in the rows")
    return row


def each_value(cls: Entity, name: str) -> str:
    """The expression (without ${}) a construct reads field `name` of its row with."""
    return f"each.value.{row_key(cls, name)}"


def attributes(cls: Entity) -> dict[str, str]:
    """Provider attribute -> `${each.value.<row key>}`, for each field that sets one."""
    return {k.attribute: f"${{{each_value(cls, name)}}}" for name, k in declared(cls) if k.attribute is not None}


def diff_fields(cls: Entity) -> tuple[str, ...]:
    """The fields whose changes `diff` lists as such (changes.FieldChange)."""
    return tuple(name for name, k in declared(cls) if k.diff)


@dataclass(frozen=True)
class Roster:
    users: tuple[User, ...]  # sorted by username
    groups: tuple[Group, ...]  # sorted by name
    allow_removal: tuple[str, ...] = ()  # offboarding.allow_removal, sorted (guard.py)

    @property
    def admins(self) -> tuple[User, ...]:
        return tuple(u for u in self.users if u.is_admin)

    @property
    def netbird_groups(self) -> frozenset[str]:
        return frozenset(g.name for g in self.groups if g.netbird)

    def netbird_access(self, user: User) -> bool:
        """Whether the user may sign in to NetBird (when settings enable it): active and in a
        group marked "netbird"."""
        return user.active and not self.netbird_groups.isdisjoint(user.groups)


def _defaults(cls: Entity, settings: Settings) -> tuple[Any, ...]:
    """The value of each declared key an entry leaves out."""
    return tuple(k.settings_default(settings) if k.settings_default else k.schema.get("default")
                 for _, k in declared(cls))


def _builder(cls: Entity, settings: Settings) -> Callable[[str, dict[str, Any]], Any]:
    """name, users.json entry -> cls, reading each declared key (or its default)."""
    keys = declared(cls)
    names = tuple(k.json_key for _, k in keys)
    defaults = _defaults(cls, settings)
    reads = tuple((i, k.read) for i, (_, k) in enumerate(keys) if k.read is not None)

    def build(name: str, entry: dict[str, Any]) -> Any:
        found = list(map(entry.get, names, defaults))
        for i, read in reads:
            found[i] = read(found[i])
        return cls(name, *found)
    return build


@dataclass(frozen=True)
class Prior:
    """The users built from another version of users.json (the working tree's, when the
    guard builds the base): build_roster takes a User from here for an entry that is the
    same, read with the same defaults, instead of building it again."""

    entries: dict[str, Any]  # that version's "users", as parsed
    users: dict[str, User]  # built from them, by username
    defaults: tuple[Any, ...]  # what they were read with (_defaults)

    @classmethod
    def of(cls, data: dict[str, Any], roster: Roster, settings: Settings) -> Prior:
        return cls(data["users"], {u.username: u for u in roster.users}, _defaults(User, settings))

    def user(self, name: str, entry: Any) -> User | None:
        """The User of `entry` if it is this version's entry `name`: equal, and each value of
        the same JSON type (Python takes true for 1 and 1.0; the model does not)."""
        known = self.entries.get(name)
        if known is None or known != entry or any(type(v) is not type(known[k]) for k, v in entry.items()):
            return None
        return self.users[name]


def build_roster(data: dict[str, Any], settings: Settings, prior: Prior | None = None) -> Roster:
    """Only called on a document that passed every check, or built unchecked (a committed
    base, then checked by well_typed)."""
    build = _builder(User, settings)
    if prior is not None and prior.defaults != _defaults(User, settings):
        prior = None  # its users were read with other defaults
    users = tuple((prior and prior.user(name, entry)) or build(name, entry)
                  for name, entry in sorted(data["users"].items()))
    declared_groups = data.get("groups")
    if declared_groups is None:
        # Without a groups section, the groups are the ones users name.
        declared_groups = {g: {} for u in users for g in u.groups}
    group = _builder(Group, settings)
    groups = tuple(group(name, meta) for name, meta in sorted(declared_groups.items()))
    return Roster(users=users, groups=groups,
                  allow_removal=tuple(sorted(data.get("offboarding", {}).get("allow_removal", []))))


def well_typed(roster: Roster) -> bool:
    """Whether every field holds its annotated type: what readers of the model rely on (diff
    prints names and groups, the guard reads the flags: "yes" would count as an admin). For
    a roster built without the checks (a committed base)."""
    return all(_holds(entries, name, hint)
               for cls, entries in ((User, roster.users), (Group, roster.groups)) for name, hint in _hints(cls))


@cache
def _hints(cls: Entity) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in fields(cls))


def _holds(entries: tuple[Any, ...], name: str, hint: Any) -> bool:
    # The set of exact types, one field at a time: JSON makes no subclasses, and True is no int.
    values = map(attrgetter(name), entries)
    if typing.get_origin(hint) is tuple:  # tuple[X, ...]
        values = list(values)
        return set(map(type, values)) <= {tuple} and set(map(type, chain.from_iterable(values))) <= {hint.__args__[0]}
    return set(map(type, values)) <= (set(hint.__args__) if isinstance(hint, types.UnionType) else {hint})
