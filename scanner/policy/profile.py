"""Policy profiles as data: the built-in tiers and the ``--policy FILE`` schema.

A profile is a YAML (or, with a ``.json`` suffix, JSON) mapping with these keys; any other key
is an error:

``name`` (required)
    ``[a-z0-9][a-z0-9-]*``, at most 64 characters; it names the tier in verdicts and in the
    ``sovscan:verdict:<name>`` property. A custom profile may not take a built-in name.
``description`` (required)
    One or two sentences for the reader of a report.
``rule``
    ``domestic-only`` (every counted component comes from the jurisdiction),
    ``open-licence-for-foreign`` (a non-domestic component needs an open licence),
    ``registry`` (every counted component is on ``--trusted-registry`` and its hashes match) or
    ``deny-list`` (no counted component comes from a denied country). Required unless
    ``extends`` is given.
``extends``
    A built-in profile (``sovereign``, ``national``, ``trusted``, ``adversary``) whose rules run
    first; ``layers``, ``jurisdiction`` and ``deny`` default to its values and its
    ``attestations`` are kept (an own claim of the same name replaces the inherited one).
``layers``
    The layers that count: ``weights``, ``tokenizer``, ``code``, ``datasets``, ``python``,
    ``files``. Required unless ``extends`` is given. An empty list is allowed but evaluates to
    UNKNOWN (nothing counted, nothing proven).
``jurisdiction``
    ``"${jurisdiction}"`` (default: the run's ``--jurisdiction``) or a fixed ISO 3166-1 alpha-2
    code.
``attestations``
    Claims the ``--attestation`` file must make, each ``{claim, equals?, description?}``;
    ``equals`` is a literal value or ``"${jurisdiction}"``; without ``equals`` the claim only has
    to be present (e.g. a certificate number). Missing claim → UNKNOWN; different value → FAIL.
``deny``
    ISO 3166-1 alpha-2 codes, or ``"${jurisdiction-deny-list}"`` for the evaluated
    jurisdiction's default list (``scanner/policy/deny_lists.yaml``); only (and required) for a
    ``deny-list`` profile. A list may not name the profile's own jurisdiction.

Country codes are case-insensitive and stored upper-case; only officially assigned codes are
accepted. See ``scanner/policy/profiles/README.md`` for examples.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from scanner.core.errors import UsageError
from scanner.core.model import Layer
from scanner.core.shipped_data import read_shipped_yaml

#: The built-in tiers, in the order reports show them.
BUILTIN_TIERS = ("sovereign", "national", "trusted", "adversary")

#: Stands for the run's ``--jurisdiction`` in ``jurisdiction`` and ``attestations[].equals``.
JURISDICTION_PLACEHOLDER = "${jurisdiction}"
#: Stands for the evaluated jurisdiction's default deny list in ``deny``.
DENY_LIST_PLACEHOLDER = "${jurisdiction-deny-list}"

#: Caps on a profile file: its size, its lists and its strings.
MAX_PROFILE_BYTES = 256 * 1024
MAX_ATTESTATION_CLAIMS = 64
MAX_DENY_COUNTRIES = 300
MAX_DESCRIPTION_CHARS = 2_000
MAX_NAME_CHARS = 64
#: How deep ``extends`` may chain (built-ins only, so a cycle is a packaging bug).
MAX_EXTENDS_DEPTH = 4

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_CLAIM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PROFILE_KEYS = frozenset(
    {"name", "description", "rule", "extends", "layers", "jurisdiction", "attestations", "deny"}
)
_CLAIM_KEYS = frozenset({"claim", "equals", "description"})

#: ISO 3166-1 alpha-2: the 249 officially assigned codes.
_ALPHA2_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2 = frozenset(_ALPHA2_CODES.split())


class RuleKind(StrEnum):
    """What a profile checks; a profile runs its own rule after those it extends."""

    DOMESTIC_ONLY = "domestic-only"
    OPEN_LICENSE_FOR_FOREIGN = "open-licence-for-foreign"
    REGISTRY = "registry"
    DENY_LIST = "deny-list"


_RULE_KINDS = {kind.value: kind for kind in RuleKind}
_LAYERS = {layer.value: layer for layer in Layer}


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimRequirement:
    """A fact the attestation file must state, and the value it must have."""

    claim: str
    equals: str | None = None
    """Required value; ``${jurisdiction}`` for the evaluated jurisdiction; None: any value."""
    description: str = ""

    def expected(self, jurisdiction: str) -> str | None:
        """The value the claim must have for ``jurisdiction``; None when any value will do."""
        return jurisdiction if self.equals == JURISDICTION_PLACEHOLDER else self.equals


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A policy tier: which layers count and which rules they must pass."""

    name: str
    description: str
    rules: tuple[RuleKind, ...]
    """The rules to run, inherited ones first (``trusted``: open-licence, then registry)."""
    layers: tuple[Layer, ...]
    """Counted layers, in ``Layer`` order."""
    jurisdiction: str | None = None
    """A fixed jurisdiction, or None for the run's ``--jurisdiction``."""
    attestations: tuple[ClaimRequirement, ...] = ()
    deny: tuple[str, ...] = ()
    """Denied countries (``deny-list`` rule only)."""
    deny_default: bool = False
    """The deny list is the evaluated jurisdiction's default one (``deny`` is then empty)."""
    extends: str | None = None
    source: str
    """Where it came from: ``builtin:<name>`` or the file's path."""

    def jurisdiction_for(self, run_jurisdiction: str) -> str:
        """The jurisdiction this profile is evaluated for."""
        return self.jurisdiction or run_jurisdiction


def parse_country(value: object, *, where: str) -> str:
    """An ISO 3166-1 alpha-2 code, upper-cased; ``UsageError`` naming ``where`` otherwise."""
    if isinstance(value, bool):
        # YAML 1.1 reads an unquoted NO (Norway) or ON as a boolean.
        raise UsageError(f"{where}: a boolean is not a country code (quote it: 'NO')")
    if not isinstance(value, str):
        raise UsageError(f"{where}: expected a country code, got {type(value).__name__}")
    code = value.strip().upper()
    if code not in ISO_3166_ALPHA2:
        raise UsageError(f"{where}: {_show(value)} is not an ISO 3166-1 alpha-2 country code")
    return code


def read_policy_document(path: Path, *, what: str, max_bytes: int) -> object:
    """Parse a policy input file (JSON when it ends in ``.json``, else YAML), at most max_bytes.

    Only ``yaml.safe_load``; every failure is a ``UsageError`` naming the file.
    """
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from exc
    if len(raw) > max_bytes:
        raise UsageError(f"{path}: the {what} is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: the {what} is not UTF-8 text") from exc
    is_json = path.suffix.lower() == ".json"
    import yaml

    try:
        if is_json:
            return json.loads(text, object_pairs_hook=_unique_keys)
        return yaml.load(text, Loader=_unique_key_loader())  # noqa: S506  (a SafeLoader)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise UsageError(
            f"{path}: the {what} is not valid {'JSON' if is_json else 'YAML'}: {detail}"
        ) from exc


def read_entries(
    path: Path, *, what: str, key: str, noun: str, max_bytes: int, max_entries: int
) -> list[object]:
    """The entries of a policy input that is a list, or a mapping whose only key is ``key``
    holding that list (a registry, an attestation, a waiver file); ``UsageError`` otherwise."""
    data = read_policy_document(path, what=what, max_bytes=max_bytes)
    if isinstance(data, Mapping):
        if set(data) != {key}:
            raise UsageError(f"{path}: a {what} mapping has exactly one key, {key!r}")
        data = data[key]
    if not isinstance(data, list):
        raise UsageError(f"{path}: a {what} is a list of {noun} (under {key!r})")
    if len(data) > max_entries:
        raise UsageError(f"{path}: more than {max_entries} {noun}")
    return data


def parse_sha256(value: object, *, where: str) -> str:
    """A SHA-256 as 64 lower-case hex digits; ``UsageError`` naming ``where`` otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        raise UsageError(
            f"{where}: key 'sha256': quote the hash (YAML read an all-digit value as a number)"
        )
    if not isinstance(value, str) or not _SHA256.match(value.strip().lower()):
        raise UsageError(f"{where}: key 'sha256': must be 64 hexadecimal digits")
    return value.strip().lower()


@functools.cache
def _unique_key_loader() -> type:
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping (YAML would keep the
    last one silently: a second ``sha256`` or ``expires`` must not override the first). Built
    on first use, so that PyYAML loads only when a user's YAML file is read."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(
            self, node: yaml.MappingNode, deep: bool = False
        ) -> dict[object, object]:
            seen: set[object] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if isinstance(key, str | int | float | bool) or key is None:
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key {_show(key)}", key_node.start_mark
                        )
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"duplicate key {_show(key)}")
        found[key] = value
    return found


@functools.cache
def load_builtin(name: str) -> Profile:
    """The built-in profile ``name`` (one of ``BUILTIN_TIERS``); ``UsageError`` otherwise."""
    return _load_builtin(name, depth=0)


def _load_builtin(name: str, *, depth: int) -> Profile:
    if name not in BUILTIN_TIERS:
        raise UsageError(
            f"unknown built-in profile {_show(name)}; choose one of {', '.join(BUILTIN_TIERS)}"
        )
    data = read_shipped_yaml("scanner.policy", f"profiles/{name}.yaml")
    profile = _parse(data, f"builtin:{name}", builtin=True, depth=depth)
    if profile.name != name:
        raise UsageError(f"builtin:{name}: key 'name': must be {name!r}")
    return profile


def load_profile_file(path: Path) -> Profile:
    """A custom profile from ``--policy FILE`` (schema in the module docstring).

    Raises ``UsageError`` naming the file and the offending key.
    """
    data = read_policy_document(path, what="policy profile", max_bytes=MAX_PROFILE_BYTES)
    return _parse(data, str(path), builtin=False, depth=0)


def with_deny(profile: Profile, countries: Iterable[str]) -> Profile:
    """``profile`` with its deny list replaced (``--deny``); only for deny-list profiles."""
    if RuleKind.DENY_LIST not in profile.rules:
        raise UsageError(f"--deny: profile {profile.name!r} has no deny list")
    codes = tuple(dict.fromkeys(parse_country(code, where="--deny") for code in countries))
    if not codes:
        raise UsageError("--deny: give at least one country code")
    if len(codes) > MAX_DENY_COUNTRIES:
        raise UsageError(f"--deny: more than {MAX_DENY_COUNTRIES} countries")
    return replace(profile, deny=codes, deny_default=False)


# --- parsing -----------------------------------------------------------------------------------


def _parse(data: object, source: str, *, builtin: bool, depth: int) -> Profile:
    if not isinstance(data, Mapping):
        raise UsageError(f"{source}: a profile must be a mapping of keys to values")
    unknown = sorted(_show(key) for key in data if key not in _PROFILE_KEYS)
    if unknown:
        raise UsageError(
            f"{source}: unknown key {unknown[0]}; allowed keys: {', '.join(sorted(_PROFILE_KEYS))}"
        )
    name = _name(data.get("name"), source, builtin=builtin)
    description = _text(data.get("description"), source, "description", MAX_DESCRIPTION_CHARS)
    if description is None:
        raise UsageError(f"{source}: key 'description': required")
    base = _base(data.get("extends"), source, depth=depth)
    rules = _rules(data.get("rule"), source, base)
    layers = _layers(data["layers"], source) if "layers" in data else None
    if layers is None:
        if base is None:
            raise UsageError(f"{source}: key 'layers': required (a list of layers that count)")
        layers = base.layers
    jurisdiction = base.jurisdiction if base else None
    if "jurisdiction" in data:
        jurisdiction = _jurisdiction(data["jurisdiction"], source)
    attestations = _attestations(data.get("attestations"), source, base)
    deny_default = data.get("deny") == DENY_LIST_PLACEHOLDER or (
        "deny" not in data and base is not None and base.deny_default
    )
    deny: tuple[str, ...] = ()
    if "deny" in data and not deny_default:
        deny = _deny(data["deny"], source)
    elif "deny" not in data and base is not None:
        deny = base.deny
    if RuleKind.DENY_LIST in rules and not (deny or deny_default):
        raise UsageError(f"{source}: key 'deny': a deny-list profile needs at least one country")
    if (deny or deny_default) and RuleKind.DENY_LIST not in rules:
        raise UsageError(f"{source}: key 'deny': only a deny-list profile takes a deny list")
    if jurisdiction is not None and jurisdiction in deny:
        raise UsageError(
            f"{source}: key 'deny': {jurisdiction} is the profile's own jurisdiction; a "
            "jurisdiction cannot deny itself"
        )
    return Profile(
        name=name,
        description=description,
        rules=rules,
        layers=layers,
        jurisdiction=jurisdiction,
        attestations=attestations,
        deny=deny,
        deny_default=deny_default,
        extends=base.name if base else None,
        source=source,
    )


def _name(value: object, source: str, *, builtin: bool) -> str:
    if value is None:
        raise UsageError(f"{source}: key 'name': required")
    if not isinstance(value, str) or not _NAME.match(value):
        raise UsageError(
            f"{source}: key 'name': {_show(value)} must be lower-case letters, digits and '-' "
            f"(at most {MAX_NAME_CHARS} characters)"
        )
    if not builtin and value in BUILTIN_TIERS:
        raise UsageError(f"{source}: key 'name': {value!r} is a built-in profile; choose another")
    return value


def _text(value: object, source: str, key: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{source}: key {key!r}: must be a non-empty string")
    if len(value) > limit:
        raise UsageError(f"{source}: key {key!r}: longer than {limit} characters")
    return " ".join(value.split())


def _base(value: object, source: str, *, depth: int) -> Profile | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in BUILTIN_TIERS:
        raise UsageError(
            f"{source}: key 'extends': {_show(value)} is not a built-in profile "
            f"({', '.join(BUILTIN_TIERS)})"
        )
    if depth >= MAX_EXTENDS_DEPTH:
        raise UsageError(f"{source}: key 'extends': chain deeper than {MAX_EXTENDS_DEPTH}")
    return _load_builtin(value, depth=depth + 1)


def _rules(value: object, source: str, base: Profile | None) -> tuple[RuleKind, ...]:
    inherited = base.rules if base else ()
    if value is None:
        if base is None:
            raise UsageError(
                f"{source}: key 'rule': required ({', '.join(kind.value for kind in RuleKind)})"
            )
        return inherited
    own = _RULE_KINDS.get(value) if isinstance(value, str) else None
    if own is None:
        raise UsageError(
            f"{source}: key 'rule': unknown rule {_show(value)} "
            f"(expected one of {', '.join(kind.value for kind in RuleKind)})"
        )
    return inherited if own in inherited else (*inherited, own)


def _layers(value: object, source: str) -> tuple[Layer, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{source}: key 'layers': must be a list")
    layers: set[Layer] = set()
    for index, item in enumerate(value):
        layer = _LAYERS.get(item) if isinstance(item, str) else None
        if layer is None:
            raise UsageError(
                f"{source}: key 'layers[{index}]': unknown layer {_show(item)} "
                f"(expected one of {', '.join(_LAYERS)})"
            )
        layers.add(layer)
    return tuple(layer for layer in Layer if layer in layers)


def _jurisdiction(value: object, source: str) -> str | None:
    if value == JURISDICTION_PLACEHOLDER:
        return None
    return parse_country(value, where=f"{source}: key 'jurisdiction'")


def _attestations(value: object, source: str, base: Profile | None) -> tuple[ClaimRequirement, ...]:
    own: dict[str, ClaimRequirement] = {}
    if value is not None:
        if not isinstance(value, list):
            raise UsageError(f"{source}: key 'attestations': must be a list")
        if len(value) > MAX_ATTESTATION_CLAIMS:
            raise UsageError(
                f"{source}: key 'attestations': more than {MAX_ATTESTATION_CLAIMS} claims"
            )
        for index, item in enumerate(value):
            requirement = _claim_requirement(item, f"{source}: key 'attestations[{index}]'")
            if requirement.claim in own:
                raise UsageError(
                    f"{source}: key 'attestations[{index}]': claim {requirement.claim!r} twice"
                )
            own[requirement.claim] = requirement
    inherited = tuple(req for req in (base.attestations if base else ()) if req.claim not in own)
    return (*inherited, *own.values())


def _claim_requirement(item: object, where: str) -> ClaimRequirement:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: must be a mapping with 'claim' and optionally 'equals'")
    unknown = sorted(_show(key) for key in item if key not in _CLAIM_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]}")
    claim = item.get("claim")
    if not isinstance(claim, str) or not _CLAIM.match(claim):
        raise UsageError(f"{where}: key 'claim': {_show(claim)} must match [a-z][a-z0-9_]*")
    equals = item.get("equals")
    if equals is not None and (isinstance(equals, bool) or not isinstance(equals, str | int)):
        raise UsageError(f"{where}: key 'equals': must be a string (quote it)")
    description = _text(item.get("description"), where, "description", MAX_DESCRIPTION_CHARS)
    return ClaimRequirement(
        claim=claim,
        equals=None if equals is None else str(equals).strip(),
        description=description or "",
    )


def _deny(value: object, source: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise UsageError(
            f"{source}: key 'deny': must be a list of country codes or {DENY_LIST_PLACEHOLDER!r}"
        )
    if len(value) > MAX_DENY_COUNTRIES:
        raise UsageError(f"{source}: key 'deny': more than {MAX_DENY_COUNTRIES} countries")
    codes = [
        parse_country(item, where=f"{source}: key 'deny[{index}]'")
        for index, item in enumerate(value)
    ]
    return tuple(dict.fromkeys(codes))


def _show(value: object) -> str:
    """A short, safe rendering of a value from a file (never a huge or nested repr)."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:60] + "…")
    if value is None or isinstance(value, bool | int | float):
        return repr(value)
    return f"a {type(value).__name__}"
