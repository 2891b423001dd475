"""The adversary screen's deny lists: a default per jurisdiction, as sourced data, or ``--deny``.

``deny_lists.yaml`` holds one list per jurisdiction that has one (each with its legal source,
the documents that set and amended it, and the month it was last compared with them). A
jurisdiction without a list has no default: its adversary screen needs ``--deny``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from scanner.core.errors import ScannerError, UsageError
from scanner.core.shipped_data import read_shipped_yaml
from scanner.policy.profile import parse_country

#: Where the shipped lists live (inside the package).
DATA_FILE = "deny_lists.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class DenyDocument:
    """An instrument that set or amended a list."""

    id: str
    date: str
    what: str
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DenyList:
    """The countries an adversary screen denies, and where that list comes from."""

    id: str
    """Stable id, e.g. ``us-15-cfr-791.4``; ``--deny`` for a list given on the command line."""
    title: str
    countries: tuple[str, ...]
    """ISO 3166-1 alpha-2 codes, in the order given."""
    jurisdiction: str | None = None
    """The jurisdiction whose default it is (None for ``--deny``)."""
    source: str | None = None
    """The primary text a user can open."""
    checked: str | None = None
    """When the list was last compared with its sources (``YYYY-MM``)."""
    documents: tuple[DenyDocument, ...] = ()
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """``id: title (source; checked YYYY-MM)``, as reports and the BOM name the list."""
        facts = [fact for fact in (self.source, self.checked and f"checked {self.checked}") if fact]
        detail = f" ({'; '.join(facts)})" if facts else ""
        return f"{self.id}: {self.title}{detail}"


def default_deny_list(jurisdiction: str) -> DenyList | None:
    """The shipped deny list of ``jurisdiction``, or None when it has none."""
    return _shipped().get(jurisdiction.upper())


@functools.cache
def _shipped() -> Mapping[str, DenyList]:
    try:
        data = read_shipped_yaml("scanner.policy", DATA_FILE)
    except ValueError as exc:
        raise ScannerError(f"the shipped {DATA_FILE} does not parse: {exc}") from exc
    try:
        return parse_deny_lists(data, DATA_FILE)
    except UsageError as exc:
        # A broken shipped file is a packaging bug, not the user's mistake.
        raise ScannerError(str(exc)) from exc


def parse_deny_lists(data: object, source: str) -> dict[str, DenyList]:
    """The lists of a parsed deny-lists document, by jurisdiction; UsageError when malformed."""
    if not isinstance(data, Mapping) or not isinstance(data.get("lists"), list):
        raise UsageError(f"{source}: expected a mapping with a 'lists' list")
    lists: dict[str, DenyList] = {}
    for index, item in enumerate(data["lists"]):
        where = f"{source}: lists[{index}]"
        if not isinstance(item, Mapping):
            raise UsageError(f"{where}: must be a mapping")
        jurisdiction = parse_country(item.get("jurisdiction"), where=f"{where}: jurisdiction")
        countries = item.get("countries")
        if not isinstance(countries, list) or not countries:
            raise UsageError(f"{where}: countries must be a non-empty list")
        codes = tuple(
            dict.fromkeys(parse_country(code, where=f"{where}: countries") for code in countries)
        )
        if jurisdiction in codes:
            raise UsageError(f"{where}: the list of {jurisdiction} denies {jurisdiction} itself")
        if jurisdiction in lists:
            raise UsageError(f"{where}: a second list for {jurisdiction}")
        lists[jurisdiction] = DenyList(
            id=_text(item, "id", where),
            title=_text(item, "title", where),
            countries=codes,
            jurisdiction=jurisdiction,
            source=_text(item, "source", where),
            checked=_text(item, "checked", where),
            documents=tuple(
                _document(doc, f"{where}: documents") for doc in item.get("documents", [])
            ),
            notes=tuple(str(note) for note in item.get("notes", []) or []),
        )
    return lists


def _document(item: object, where: str) -> DenyDocument:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: each document is a mapping")
    url = item.get("url")
    return DenyDocument(
        id=_text(item, "id", where),
        date=_text(item, "date", where),
        what=_text(item, "what", where),
        url=str(url) if url else None,
    )


def _text(item: Mapping[object, object], key: str, where: str) -> str:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise UsageError(f"{where}: {key} is required")
    return str(value).strip()
