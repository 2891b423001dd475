"""Licence classes (open, restrictive, unknown) from the data table ``licenses.yaml``.

A licence is *open* when it is OSI-approved or an open licence that allows modification and
commercial use without use-based restrictions; the table's header gives the full definition and
each entry its reason. Decisions worth knowing:

- OpenRAIL licences (``openrail``, ``creativeml-openrail-m``, ``bigscience-openrail-m``, …) and
  the DeepSeek model licence are *restrictive*: their use-based restrictions bind every
  derivative, so they are not "open source" for the national tier.
- ``other`` alone (a card that names no licence) is *restrictive*: it declares a custom licence.
  A name the table does not know (e.g. from ``license_name``) is *unknown*.
- SPDX expressions: ``A OR B`` is as open as its most open choice, ``A AND B`` as restrictive as
  its most restrictive part, ``A WITH exception`` is classified as ``A``.
- Trove classifiers (``License :: OSI Approved :: …``) count as OSI-approved.
- Several declared licences are combined worst-first (``classify_licences``): fail closed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from scanner.core.errors import ScannerError
from scanner.core.shipped_data import read_shipped_yaml

#: Longest licence string classified; longer ones are UNKNOWN.
MAX_LICENSE_CHARS = 512
#: Most tokens and nesting depth in an SPDX-style expression; beyond, UNKNOWN.
MAX_EXPRESSION_TOKENS = 64
MAX_EXPRESSION_DEPTH = 8

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_OPERATORS = frozenset({"and", "or", "with"})
_SUFFIXES = ("-or-later", "-only", "+")


class LicenseClass(StrEnum):
    """Whether a licence lets anyone modify and use the component commercially."""

    OPEN = "open"
    RESTRICTIVE = "restrictive"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenseClassification:
    """A licence's class and why."""

    license_class: LicenseClass
    reason: str
    license: str | None = None
    """The licence as declared (the deciding one, when several were declared)."""


# Worst first: fail closed when several licences apply together.
_SEVERITY = {LicenseClass.RESTRICTIVE: 0, LicenseClass.UNKNOWN: 1, LicenseClass.OPEN: 2}


def explain_license(license_id: str | None) -> LicenseClassification:
    """The class of one declared licence, with the reason from the table."""
    if license_id is None or not license_id.strip():
        return LicenseClassification(
            license_class=LicenseClass.UNKNOWN, reason="no licence declared", license=license_id
        )
    if len(license_id) > MAX_LICENSE_CHARS:
        return LicenseClassification(
            license_class=LicenseClass.UNKNOWN,
            reason=f"licence text longer than {MAX_LICENSE_CHARS} characters",
            license=license_id[:MAX_LICENSE_CHARS],
        )
    found = _classify(_normalise(license_id))
    return LicenseClassification(
        license_class=found.license_class, reason=found.reason, license=license_id
    )


def classify_licenses(licenses: Iterable[str]) -> LicenseClassification:
    """The class of a component's declared licences together: the most restrictive one wins."""
    found = [explain_license(license) for license in licenses]
    if not found:
        return LicenseClassification(
            license_class=LicenseClass.UNKNOWN, reason="no licence declared"
        )
    return min(found, key=lambda item: _SEVERITY[item.license_class])


# --- table -------------------------------------------------------------------------------------


@functools.cache
def _table() -> Mapping[str, LicenseClassification]:
    data = read_shipped_yaml("scanner.policy", "licenses.yaml")
    entries = data.get("licences") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ScannerError("licenses.yaml: 'licences' must be a list")
    table: dict[str, LicenseClassification] = {}
    for index, entry in enumerate(entries):
        license_class, reason, ids = _entry(entry, index)
        for license_id in ids:
            key = _normalise(license_id)
            if key in table:
                raise ScannerError(f"licenses.yaml: {license_id!r} is listed twice")
            table[key] = LicenseClassification(
                license_class=license_class, reason=reason, license=license_id
            )
    return MappingProxyType(table)


def _entry(entry: object, index: int) -> tuple[LicenseClass, str, list[str]]:
    if not isinstance(entry, dict) or set(entry) != {"class", "reason", "ids"}:
        raise ScannerError(f"licenses.yaml: entry {index} needs exactly class, reason and ids")
    ids, reason = entry["ids"], entry["reason"]
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise ScannerError(f"licenses.yaml: entry {index}: ids must be strings")
    if not isinstance(reason, str) or not reason:
        raise ScannerError(f"licenses.yaml: entry {index}: reason must be a non-empty string")
    try:
        license_class = LicenseClass(entry["class"])
    except ValueError:
        raise ScannerError(f"licenses.yaml: entry {index}: unknown class") from None
    return license_class, reason, ids


# --- classification ----------------------------------------------------------------------------


def _normalise(value: str) -> str:
    text = " ".join(value.split()).lower().strip("\"'")
    text = text.removeprefix("licenseref-")
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text.removesuffix(suffix)
    return text


def _classify(text: str) -> LicenseClassification:
    known = _table().get(text)
    if known is not None:
        return known
    if text.startswith("license ::"):
        return _classifier(text)
    tokens = _TOKEN.findall(text)
    if "(" in tokens or any(token in _OPERATORS for token in tokens):
        return _expression(tokens)
    return LicenseClassification(
        license_class=LicenseClass.UNKNOWN, reason="not a licence sovscan recognises"
    )


def _classifier(text: str) -> LicenseClassification:
    """A Trove classifier such as ``License :: OSI Approved :: MIT License``."""
    parts = [part.strip() for part in text.split("::")[1:]]
    known = _table().get(_normalise(parts[-1])) if parts else None
    if known is not None:
        return known
    if "osi approved" in parts:
        return LicenseClassification(
            license_class=LicenseClass.OPEN, reason="OSI-approved (Trove classifier)"
        )
    return LicenseClassification(
        license_class=LicenseClass.UNKNOWN, reason="a Trove classifier naming no known licence"
    )


class _BadExpression(Exception):
    """The expression cannot be parsed within the caps."""


def _expression(tokens: list[str]) -> LicenseClassification:
    if len(tokens) > MAX_EXPRESSION_TOKENS:
        return LicenseClassification(
            license_class=LicenseClass.UNKNOWN,
            reason=f"licence expression longer than {MAX_EXPRESSION_TOKENS} tokens",
        )
    try:
        found = _Parser(tokens).parse()
    except _BadExpression:
        return LicenseClassification(
            license_class=LicenseClass.UNKNOWN, reason="unparseable licence expression"
        )
    return found


@dataclass(slots=True)
class _Parser:
    """Recursive descent over ``or`` (loosest), ``and``, ``with`` and parentheses."""

    tokens: list[str]
    position: int = 0

    def parse(self) -> LicenseClassification:
        found = self.expression(depth=0)
        if self.position != len(self.tokens):
            raise _BadExpression
        return found

    def expression(self, *, depth: int) -> LicenseClassification:
        options = [self.term(depth=depth)]
        while self._take("or"):
            options.append(self.term(depth=depth))
        return max(options, key=lambda item: _SEVERITY[item.license_class])

    def term(self, *, depth: int) -> LicenseClassification:
        parts = [self.factor(depth=depth)]
        while self._take("and"):
            parts.append(self.factor(depth=depth))
        return min(parts, key=lambda item: _SEVERITY[item.license_class])

    def factor(self, *, depth: int) -> LicenseClassification:
        if depth >= MAX_EXPRESSION_DEPTH:
            raise _BadExpression
        if self._take("("):
            inner = self.expression(depth=depth + 1)
            if not self._take(")"):
                raise _BadExpression
            return inner
        license = self._leaf()
        if self._take("with"):
            self._leaf()  # an exception only adds permissions
        known = _table().get(_normalise(license))
        if known is None:
            return LicenseClassification(
                license_class=LicenseClass.UNKNOWN,
                reason=f"{license!r} is not a licence sovscan recognises",
            )
        return known

    def _leaf(self) -> str:
        words: list[str] = []
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            if token in _OPERATORS or token in {"(", ")"}:
                break
            words.append(token)
            self.position += 1
        if not words:
            raise _BadExpression
        return " ".join(words)

    def _take(self, token: str) -> bool:
        if self.position < len(self.tokens) and self.tokens[self.position] == token:
            self.position += 1
            return True
        return False
