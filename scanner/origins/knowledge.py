"""The origins knowledge base: curated organisation → country facts, each with its source."""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar

from scanner.core.errors import ScannerError, UsageError
from scanner.core.model import Confidence
from scanner.core.shipped_data import read_shipped_yaml

#: Evidence location of built-in entries: they live in the package, not in a scanned target.
BUILTIN_LOCATION: Final = "sovscan:origins/data/origins.yaml"
#: Largest ``--origins`` file read, in bytes (the built-in one is about 300 KB).
MAX_FILE_BYTES: Final = 8 * 1024 * 1024
#: Most entries (and, separately, TLD signals) one file may hold.
MAX_ENTRIES: Final = 100_000
#: Longest id: Hub namespaces stop at 96 characters, domain names at 253.
MAX_ID_LENGTH: Final = 256
#: Longest free-text field (organisation, note, source, …).
MAX_TEXT_LENGTH: Final = 4096
#: Longest string ``match`` looks up; anything longer is no id at all.
MAX_QUERY_LENGTH: Final = 512
#: Most labels a domain may have (DNS allows 127).
MAX_DOMAIN_LABELS: Final = 127

#: ``verified`` of an entry whose fact was compared with its cited source in its ``as_of`` month.
CHECKED: Final = "checked"
#: ``verified`` of an entry whose source is cited but was not compared with the fact.
UNCHECKED: Final = "unchecked"
#: ``verified`` values of built-in entries (see the data file's header).
VERIFIED_VALUES: Final = frozenset({CHECKED, UNCHECKED})

_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_WHITESPACE = re.compile(r"\s")
_TLD = re.compile(r"[a-z0-9-]{1,63}", re.ASCII)
_E = TypeVar("_E", bound=StrEnum)


class EntryKind(StrEnum):
    """What an entry's ``id`` names."""

    HF_NAMESPACE = "hf-namespace"
    PYPI_PACKAGE = "pypi-package"
    GITHUB_ORG = "github-org"
    EMAIL_DOMAIN = "email-domain"
    LICENSE = "licence"


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseChange:
    """A package's licence for a range of its releases, where it differs from the current one
    (a project that moved from an open licence to a source-available one, say)."""

    versions: str
    """A PEP 440 specifier (``<7.11``); parsed when a package's version is compared with it."""
    license: str
    """The SPDX expression of those releases."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OriginEntry:
    """One curated fact: who stands behind an id, in which country, and the source."""

    id: str
    """Hub namespace, PyPI name, GitHub org, email/URL domain or licence id, as written."""
    kind: EntryKind
    organization: str
    """Steward or publisher; for re-uploaders the uploader, not the weights' author."""
    country: str | None = None
    """ISO 3166-1 alpha-2 of the controlling jurisdiction, or None (no single country)."""
    parent: str | None = None
    """Ultimate parent organisation, where different."""
    origin_country: str | None = None
    """Where the organisation originated if control has since moved."""
    coordinator_country: str | None = None
    """Where a community project is coordinated from (a note, not an origin)."""
    community: bool = False
    fiscal_sponsor: str | None = None
    fiscal_sponsor_country: str | None = None
    individual: bool = False
    reported_origin: str | None = None
    """An individual's reported country: a weak hint, never a citizenship fact."""
    consumer_mail: bool = False
    """An email domain anyone can get a mailbox on: never an organisation."""
    url_domain: bool = False
    """A hosting domain: where code lives, not who wrote it."""
    reuploader: bool = False
    """A Hub namespace that converts or re-hosts others' weights: follow the lineage instead."""
    note: str | None = None
    source: str
    """Where to check the fact: references a user can follow (URLs, PyPI releases), separated
    by ``" ; "``; a user's entry without one names its file."""
    confidence: Confidence
    verified: str | None = None
    """``checked``: the fact was compared with the cited source in the ``as_of`` month;
    ``unchecked``: the source is cited but the fact was not compared with it. Built-in entries
    always carry one of the two; in a user's file the field is optional free text."""
    as_of: str | None = None
    """When the fact was last believed current (``YYYY`` or ``YYYY-MM``)."""
    license: str | None = None
    """pypi-package entries: the SPDX expression of the release named by ``license_release``,
    read from that release's own metadata."""
    license_release: str | None = None
    license_changes: tuple[LicenseChange, ...] = ()
    """Releases whose licence differs from ``license``, by version range."""
    user: bool = False
    """True for entries from the user's ``--origins`` file."""
    defined_in: str = BUILTIN_LOCATION
    """The file the entry comes from."""

    @property
    def key(self) -> str:
        """The normalised id look-ups compare against."""
        return normalise_id(self.kind, self.id)


@dataclass(frozen=True, slots=True, kw_only=True)
class TldSignal:
    """What a top-level domain says about a country (``None``: used generically, no signal)."""

    tld: str
    country: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryMatch:
    """An entry found for a look-up, and how closely it matched."""

    entry: OriginEntry
    matched: str
    """The id that matched: for domains, possibly a parent of the one asked for."""
    exact: bool
    """False for a case-insensitive Hub-namespace match or a parent-domain match."""


#: PEP 503: runs of "-", "_" and "." are one "-" (the normalisation of packaging's
#: ``canonicalize_name``, without importing packaging on every start).
_PEP503_SEPARATORS: Final = re.compile(r"[-_.]+")


def normalise_id(kind: EntryKind, ident: str) -> str:
    """The key ``ident`` is compared by for ``kind``, as the registry itself compares names.

    PyPI names are PEP 503-normalised; domains, GitHub orgs and licence ids compare without
    case. Hub namespaces are case-sensitive on the Hub; this key is only their fallback.
    """
    text = ident.strip()
    if kind is EntryKind.PYPI_PACKAGE:
        return _PEP503_SEPARATORS.sub("-", text).lower()
    if kind is EntryKind.EMAIL_DOMAIN:
        return text.lower().rstrip(".")
    return text.casefold()


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """An immutable set of entries with look-ups by (kind, id).

    Of entries with the same kind and normalised id, the later one wins (that is how the
    user's entries override built-in ones); the same holds for TLD signals.
    """

    entries: tuple[OriginEntry, ...] = ()
    """Every entry, built-in first, in file order (see ``deferred``)."""
    tld_signals: tuple[TldSignal, ...] = ()
    deferred: Callable[[], tuple[OriginEntry, ...]] | None = field(
        default=None, repr=False, compare=False
    )
    """More built-in entries, all of ``deferred_kinds``, parsed on first need: a model scan
    never reads the ~900 PyPI packages, and parsing them is start-up time."""
    deferred_kinds: frozenset[EntryKind] = field(default=frozenset(), repr=False, compare=False)
    _by_key: Mapping[tuple[EntryKind, str], OriginEntry] = field(
        init=False, repr=False, compare=False
    )
    _exact: Mapping[str, OriginEntry] = field(init=False, repr=False, compare=False)
    _tlds: Mapping[str, TldSignal] = field(init=False, repr=False, compare=False)
    _prefixes: tuple[OriginEntry, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index(self.entries)
        tlds = {signal.tld: signal for signal in self.tld_signals}
        object.__setattr__(self, "tld_signals", tuple(tlds.values()))
        object.__setattr__(self, "_tlds", MappingProxyType(tlds))

    def _index(self, entries: Iterable[OriginEntry]) -> None:
        by_key: dict[tuple[EntryKind, str], OriginEntry] = {}
        for entry in entries:
            by_key.pop((entry.kind, entry.key), None)  # the winner moves to the end
            by_key[(entry.kind, entry.key)] = entry
        exact = {e.id.strip(): e for e in by_key.values() if e.kind is EntryKind.HF_NAMESPACE}
        # Frozen: the indexes are derived here (and once more when the deferred entries come).
        object.__setattr__(self, "entries", tuple(by_key.values()))
        object.__setattr__(self, "_by_key", MappingProxyType(by_key))
        object.__setattr__(self, "_exact", MappingProxyType(exact))
        prefixes = [
            e for e in by_key.values() if e.kind is EntryKind.PYPI_PACKAGE and e.key.endswith("*")
        ]
        # Longest prefix first: ``nvidia-cuda-*`` is more specific than ``nvidia-*``.
        prefixes.sort(key=lambda e: len(e.key), reverse=True)
        object.__setattr__(self, "_prefixes", tuple(prefixes))

    def _complete(self) -> None:
        """Parse the deferred entries, if any are still waiting."""
        pending = self.deferred
        if pending is None:
            return
        object.__setattr__(self, "deferred", None)
        self._index((*self.entries, *pending()))

    def __iter__(self) -> Iterator[OriginEntry]:
        self._complete()
        return iter(self.entries)

    def __len__(self) -> int:
        self._complete()
        return len(self.entries)

    def of_kind(self, kind: EntryKind) -> tuple[OriginEntry, ...]:
        """The entries of one kind."""
        self._complete()
        return tuple(e for e in self.entries if e.kind is kind)

    def lookup(self, kind: EntryKind, ident: str) -> OriginEntry | None:
        """The entry for ``ident``, or None; see ``match``."""
        found = self.match(kind, ident)
        return found.entry if found else None

    def match(self, kind: EntryKind, ident: str) -> EntryMatch | None:
        """The entry for ``ident`` and how it matched, or None.

        Hub namespaces match exactly first, then case-insensitively; a domain with no entry
        falls back to its parent domains (``mail.yandex-team.ru`` → ``yandex-team.ru``); a PyPI
        name with no entry falls back to a family entry whose id ends in ``*`` (``nvidia-*``).
        """
        text = ident.strip()
        if not text or len(text) > MAX_QUERY_LENGTH:
            return None
        if kind in self.deferred_kinds:
            self._complete()
        if kind is EntryKind.EMAIL_DOMAIN:
            return self._match_domain(text)
        if kind is EntryKind.HF_NAMESPACE:
            exact = self._exact.get(text)
            if exact is not None:
                return EntryMatch(entry=exact, matched=text, exact=True)
        entry = self._by_key.get((kind, normalise_id(kind, text)))
        if entry is None and kind is EntryKind.PYPI_PACKAGE:
            return self._match_prefix(normalise_id(kind, text))
        if entry is None:
            return None
        # Only Hub namespaces are case-sensitive; other registries compare the normalised form.
        exact_match = kind is not EntryKind.HF_NAMESPACE or entry.id.strip() == text
        return EntryMatch(entry=entry, matched=entry.id, exact=exact_match)

    def _match_prefix(self, name: str) -> EntryMatch | None:
        """A PyPI name against the family entries (``nvidia-*``): a family, not the package."""
        for entry in self._prefixes:
            if name.startswith(entry.key[:-1]) and name != entry.key:
                return EntryMatch(entry=entry, matched=entry.id, exact=False)
        return None

    def _match_domain(self, domain: str) -> EntryMatch | None:
        labels = normalise_id(EntryKind.EMAIL_DOMAIN, domain).split(".")
        if len(labels) > MAX_DOMAIN_LABELS:
            return None
        # Stop before the bare TLD: ``ru`` alone is a ccTLD hint, not an entry.
        for start in range(len(labels) - 1):
            candidate = ".".join(labels[start:])
            entry = self._by_key.get((EntryKind.EMAIL_DOMAIN, candidate))
            if entry is not None:
                return EntryMatch(entry=entry, matched=candidate, exact=start == 0)
        return None

    def tld_signal(self, tld: str) -> TldSignal | None:
        """The curated signal for a top-level domain (without the dot), if any."""
        return self._tlds.get(tld.strip().lower().lstrip("."))

    def with_entries(
        self, entries: Iterable[OriginEntry], tld_signals: Iterable[TldSignal] = ()
    ) -> KnowledgeBase:
        """A new knowledge base with ``entries`` layered over these (they win on equal ids)."""
        self._complete()
        return KnowledgeBase((*self.entries, *entries), (*self.tld_signals, *tld_signals))


# --- loading -----------------------------------------------------------------------------------


class _InvalidDocument(Exception):
    """A problem in an origins document; the loader adds the file name."""


#: Entry fields whose origins-file key is spelt differently (the files use British English).
FILE_KEYS = {"organization": "organisation"}

_ENTRY_FIELDS = frozenset(
    {
        "id",
        "kind",
        "organisation",
        "country",
        "parent",
        "origin_country",
        "coordinator_country",
        "community",
        "fiscal_sponsor",
        "fiscal_sponsor_country",
        "individual",
        "reported_origin",
        "consumer_mail",
        "url_domain",
        "reuploader",
        "note",
        "source",
        "confidence",
        "verified",
        "as_of",
        "license",
        "license_release",
        "license_changes",
    }
)
_DOCUMENT_KEYS = frozenset({"meta", "entries", "tld_signals"})


def _parse_document(
    data: object, *, user: bool, defined_in: str, defer: frozenset[str] = frozenset()
) -> tuple[list[OriginEntry], list[TldSignal]]:
    """Validate a parsed origins document: ``{entries: [...], tld_signals: [...]}``.

    A user document may also be a bare list of entries. Raises ``_InvalidDocument`` naming the
    entry (1-based position and id) and what is wrong with it. Entries whose ``kind`` is in
    ``defer`` are left out (``_deferred_entries`` parses them).
    """
    if isinstance(data, list) and user:
        raw_entries: object = data
        raw_tlds: object = []
    elif isinstance(data, dict):
        unknown = sorted(str(key)[:40] for key in data if key not in _DOCUMENT_KEYS)
        if unknown:
            raise _InvalidDocument(
                f"unknown top-level key(s) {', '.join(unknown)}; expected entries, tld_signals"
            )
        raw_entries = data.get("entries", [])
        raw_tlds = data.get("tld_signals", [])
    else:
        raise _InvalidDocument("expected a mapping with an 'entries' list (or a list of entries)")
    if not isinstance(raw_entries, list) or not isinstance(raw_tlds, list):
        raise _InvalidDocument("'entries' and 'tld_signals' must be lists")
    if len(raw_entries) > MAX_ENTRIES or len(raw_tlds) > MAX_ENTRIES:
        raise _InvalidDocument(f"more than {MAX_ENTRIES} entries")
    chosen = [
        (index, raw)
        for index, raw in enumerate(raw_entries, start=1)
        if not (defer and isinstance(raw, dict) and raw.get("kind") in defer)
    ]
    tlds = [_parse_tld(raw, index) for index, raw in enumerate(raw_tlds, start=1)]
    return _parse_entries(chosen, user=user, defined_in=defined_in), tlds


def _deferred_entries(data: object, kinds: frozenset[str]) -> tuple[OriginEntry, ...]:
    """The built-in entries of ``kinds``, parsed (``KnowledgeBase.deferred``)."""
    raw_entries = data.get("entries", []) if isinstance(data, dict) else []
    chosen = [
        (index, raw)
        for index, raw in enumerate(raw_entries, start=1)
        if isinstance(raw, dict) and raw.get("kind") in kinds
    ]
    try:
        return tuple(_parse_entries(chosen, user=False, defined_in=BUILTIN_LOCATION))
    except _InvalidDocument as exc:
        raise ScannerError(f"internal error: the built-in origins data is invalid: {exc}") from exc


def _parse_entries(
    chosen: Sequence[tuple[int, object]], *, user: bool, defined_in: str
) -> list[OriginEntry]:
    entries: list[OriginEntry] = []
    seen: dict[tuple[EntryKind, str], int] = {}
    for index, raw in chosen:
        entry = _parse_entry(raw, index, user=user, defined_in=defined_in)
        earlier = seen.setdefault((entry.kind, entry.key), index)
        if earlier != index:
            raise _InvalidDocument(
                f"entry {index} ({entry.kind} {entry.id!r}) repeats entry {earlier}"
            )
        entries.append(entry)
    return entries


def _parse_entry(raw: object, index: int, *, user: bool, defined_in: str) -> OriginEntry:
    if not isinstance(raw, dict):
        raise _InvalidDocument(f"entry {index}: expected a mapping of fields")
    ident = raw.get("id")
    label = f"entry {index} ({ident!r})" if isinstance(ident, str) else f"entry {index}"
    try:
        return _entry_from_fields(raw, user=user, defined_in=defined_in)
    except _InvalidDocument as exc:
        raise _InvalidDocument(f"{label}: {exc}") from None


def _entry_from_fields(raw: dict[object, object], *, user: bool, defined_in: str) -> OriginEntry:
    unknown = (
        []
        if raw.keys() <= _ENTRY_FIELDS
        else sorted(str(key)[:40] for key in raw if key not in _ENTRY_FIELDS)
    )
    if unknown:
        raise _InvalidDocument(f"unknown field(s) {', '.join(unknown)}")
    source = _text(raw, "source", MAX_TEXT_LENGTH)
    if source is None:
        if not user:
            raise _InvalidDocument("has no source")
        source = f"user origins file {defined_in}"
    verified = _text(raw, "verified", MAX_TEXT_LENGTH)
    if not user and verified not in VERIFIED_VALUES:
        raise _InvalidDocument(f"verified must be one of {', '.join(sorted(VERIFIED_VALUES))}")
    as_of = _as_of(raw)
    if not user and as_of is None:
        raise _InvalidDocument("has no as_of date")
    entry = OriginEntry(
        id=_required_text(raw, "id", MAX_ID_LENGTH),
        kind=_enum(raw, "kind", EntryKind),
        organization=_required_text(raw, "organisation", MAX_TEXT_LENGTH),
        country=_country(raw, "country"),
        parent=_text(raw, "parent", MAX_TEXT_LENGTH),
        origin_country=_country(raw, "origin_country"),
        coordinator_country=_country(raw, "coordinator_country"),
        community=_flag(raw, "community"),
        fiscal_sponsor=_text(raw, "fiscal_sponsor", MAX_TEXT_LENGTH),
        fiscal_sponsor_country=_country(raw, "fiscal_sponsor_country"),
        individual=_flag(raw, "individual"),
        reported_origin=_country(raw, "reported_origin"),
        consumer_mail=_flag(raw, "consumer_mail"),
        url_domain=_flag(raw, "url_domain"),
        reuploader=_flag(raw, "reuploader"),
        note=_text(raw, "note", MAX_TEXT_LENGTH),
        source=source,
        confidence=_enum(raw, "confidence", Confidence),
        verified=verified,
        as_of=as_of,
        license=_text(raw, "license", MAX_TEXT_LENGTH),
        license_release=_text(raw, "license_release", MAX_ID_LENGTH),
        license_changes=_license_changes(raw.get("license_changes")),
        user=user,
        defined_in=defined_in,
    )
    _check_consistency(entry)
    return entry


def _check_consistency(entry: OriginEntry) -> None:
    if entry.community and entry.individual:
        raise _InvalidDocument("cannot be both community and individual")
    if (entry.consumer_mail or entry.url_domain) and entry.kind is not EntryKind.EMAIL_DOMAIN:
        raise _InvalidDocument("consumer_mail and url_domain apply to email-domain entries only")
    if entry.reuploader and entry.kind is not EntryKind.HF_NAMESPACE:
        raise _InvalidDocument("reuploader applies to hf-namespace entries only")
    if _WHITESPACE.search(entry.id.strip()) and entry.kind is not EntryKind.LICENSE:
        raise _InvalidDocument("id contains whitespace")
    licensed = entry.license is not None or entry.license_changes
    if licensed and (entry.kind is not EntryKind.PYPI_PACKAGE or entry.id.endswith("*")):
        raise _InvalidDocument("a licence applies to a pypi-package entry of one package only")
    if entry.license_changes and entry.license is None:
        raise _InvalidDocument("license_changes needs the current license beside it")


#: Most licence changes one entry may list.
MAX_LICENSE_CHANGES: Final = 32


def _license_changes(value: object) -> tuple[LicenseChange, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_LICENSE_CHANGES:
        raise _InvalidDocument(f"license_changes must be a list of at most {MAX_LICENSE_CHANGES}")
    changes = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"versions", "license"}:
            raise _InvalidDocument("each of license_changes needs versions and license, only")
        changes.append(
            LicenseChange(
                versions=_required_text(item, "versions", MAX_ID_LENGTH),
                license=_required_text(item, "license", MAX_TEXT_LENGTH),
            )
        )
    return tuple(changes)


def _required_text(raw: dict[object, object], name: str, limit: int) -> str:
    value = _text(raw, name, limit)
    if value is None:
        raise _InvalidDocument(f"{name} is missing")
    return value


def _text(raw: dict[object, object], name: str, limit: int) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _InvalidDocument(f"{name} must be a string, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise _InvalidDocument(f"{name} is longer than {limit} characters")
    return value or None


def _enum(raw: dict[object, object], name: str, enum: type[_E]) -> _E:
    value = raw.get(name)
    if isinstance(value, str):
        try:
            return enum(value)
        except ValueError:
            pass
    allowed = ", ".join(m.value for m in enum)
    raise _InvalidDocument(f"{name} {value!r} is not one of {allowed}")


def _flag(raw: dict[object, object], name: str) -> bool:
    value = raw.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _InvalidDocument(f"{name} must be true or false, not {value!r}")
    return value


def _country(raw: dict[object, object], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if value is False:  # YAML 1.1 reads an unquoted NO (Norway) as false
        raise _InvalidDocument(f"{name} is false: quote country codes ('NO' reads as false)")
    if not isinstance(value, str) or _COUNTRY.fullmatch(value) is None:
        raise _InvalidDocument(
            f"{name} {value!r} is not an upper-case ISO 3166-1 alpha-2 code (or null)"
        )
    return value


def _as_of(raw: dict[object, object]) -> str | None:
    value = raw.get("as_of")
    if value is None:
        return None
    if isinstance(value, bool):
        raise _InvalidDocument(f"as_of {value!r} is not a date")
    if isinstance(value, datetime.date | int):  # YAML reads 2026-08-01 and 2026 natively
        return str(value.isoformat() if isinstance(value, datetime.date) else value)
    if isinstance(value, str) and 0 < len(value.strip()) <= 32:
        return value.strip()
    raise _InvalidDocument(f"as_of {value!r} is not a date such as 2026-08")


def _parse_tld(raw: object, index: int) -> TldSignal:
    if not isinstance(raw, dict) or not isinstance(raw.get("tld"), str):
        raise _InvalidDocument(f"tld_signals entry {index}: expected a mapping with a tld")
    tld = str(raw["tld"]).strip().lower().lstrip(".")
    if _TLD.fullmatch(tld) is None:
        raise _InvalidDocument(f"tld_signals entry {index}: {tld!r} is not a top-level domain")
    unknown = sorted(str(key)[:40] for key in raw if key not in {"tld", "country", "note"})
    if unknown:
        raise _InvalidDocument(f"tld_signals entry {index}: unknown field(s) {', '.join(unknown)}")
    try:
        country = _country(raw, "country")
        note = _text(raw, "note", MAX_TEXT_LENGTH)
    except _InvalidDocument as exc:
        raise _InvalidDocument(f"tld_signals entry {index} ({tld!r}): {exc}") from None
    return TldSignal(tld=tld, country=country, note=note)


@functools.cache
def load_builtin() -> KnowledgeBase:
    """The knowledge base shipped with sovscan (read once, then cached; its parsed form may be
    kept between runs, see ``scanner.core.shipped_data``).

    Raises:
        ScannerError: the shipped data file is invalid (a bug in sovscan).
    """
    deferred = frozenset({EntryKind.PYPI_PACKAGE.value, EntryKind.GITHUB_ORG.value})
    try:
        data = read_shipped_yaml("scanner.origins", "data/origins.yaml")
        entries, tlds = _parse_document(
            data, user=False, defined_in=BUILTIN_LOCATION, defer=deferred
        )
    except (_InvalidDocument, ValueError) as exc:
        raise ScannerError(f"internal error: the built-in origins data is invalid: {exc}") from exc
    return KnowledgeBase(
        tuple(entries),
        tuple(tlds),
        deferred=functools.partial(_deferred_entries, data, deferred),
        deferred_kinds=frozenset(EntryKind(kind) for kind in deferred),
    )


def load_overlay(base: KnowledgeBase, path: Path | str) -> KnowledgeBase:
    """``base`` with the entries of the user's ``--origins`` file layered over it.

    The file has the built-in format (YAML; JSON when it ends in ``.json``). Its entries win
    over built-in ones with the same kind and id and are marked ``user=True``.

    Raises:
        UsageError: the file cannot be read, is not YAML/JSON, is over ``MAX_FILE_BYTES``, or
            an entry is malformed (the message names the file and the entry).
    """
    file = Path(path)
    try:
        with file.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read origins file {file}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise UsageError(f"origins file {file} is larger than {MAX_FILE_BYTES} bytes")
    import yaml

    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError, OverflowError) as exc:
        what = "JSON" if file.suffix.lower() == ".json" else "YAML"
        raise UsageError(f"origins file {file} is not valid {what}: {exc}") from exc
    try:
        entries, tlds = _parse_document(data, user=True, defined_in=str(file))
    except _InvalidDocument as exc:
        raise UsageError(f"origins file {file}: {exc}") from exc
    return base.with_entries(entries, tlds)
