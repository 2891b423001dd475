"""Licence classes (open, restrictive, unknown) from the data table ``licences.yaml``.

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
from importlib import resources
from types import MappingProxyType

import yaml

from scanner.core.errors import ScannerError

#: Longest licence string classified; longer ones are UNKNOWN.
MAX_LICENCE_CHARS = 512
#: Most tokens and nesting depth in an SPDX-style expression; beyond, UNKNOWN.
MAX_EXPRESSION_TOKENS = 64
MAX_EXPRESSION_DEPTH = 8

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_OPERATORS = frozenset({"and", "or", "with"})
_SUFFIXES = ("-or-later", "-only", "+")


class LicenceClass(StrEnum):
    """Whether a licence lets anyone modify and use the component commercially."""

    OPEN = "open"
    RESTRICTIVE = "restrictive"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class LicenceClassification:
    """A licence's class and why."""

    licence_class: LicenceClass
    reason: str
    licence: str | None = None
    """The licence as declared (the deciding one, when several were declared)."""


# Worst first: fail closed when several licences apply together.
_SEVERITY = {LicenceClass.RESTRICTIVE: 0, LicenceClass.UNKNOWN: 1, LicenceClass.OPEN: 2}


def classify_licence(licence_id: str | None) -> LicenceClass:
    """The class of one declared licence (id, name, classifier or SPDX expression)."""
    return explain_licence(licence_id).licence_class


def explain_licence(licence_id: str | None) -> LicenceClassification:
    """The class of one declared licence, with the reason from the table."""
    if licence_id is None or not licence_id.strip():
        return LicenceClassification(
            licence_class=LicenceClass.UNKNOWN, reason="no licence declared", licence=licence_id
        )
    if len(licence_id) > MAX_LICENCE_CHARS:
        return LicenceClassification(
            licence_class=LicenceClass.UNKNOWN,
            reason=f"licence text longer than {MAX_LICENCE_CHARS} characters",
            licence=licence_id[:MAX_LICENCE_CHARS],
        )
    found = _classify(_normalise(licence_id))
    return LicenceClassification(
        licence_class=found.licence_class, reason=found.reason, licence=licence_id
    )


def classify_licences(licences: Iterable[str]) -> LicenceClassification:
    """The class of a component's declared licences together: the most restrictive one wins."""
    found = [explain_licence(licence) for licence in licences]
    if not found:
        return LicenceClassification(
            licence_class=LicenceClass.UNKNOWN, reason="no licence declared"
        )
    return min(found, key=lambda item: _SEVERITY[item.licence_class])


def licence_table() -> Mapping[str, LicenceClassification]:
    """The table as loaded: normalised id → class and reason."""
    return _table()


# --- table -------------------------------------------------------------------------------------


@functools.cache
def _table() -> Mapping[str, LicenceClassification]:
    text = resources.files("scanner.policy").joinpath("licences.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    entries = data.get("licences") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ScannerError("licences.yaml: 'licences' must be a list")
    table: dict[str, LicenceClassification] = {}
    for index, entry in enumerate(entries):
        licence_class, reason, ids = _entry(entry, index)
        for licence_id in ids:
            key = _normalise(licence_id)
            if key in table:
                raise ScannerError(f"licences.yaml: {licence_id!r} is listed twice")
            table[key] = LicenceClassification(
                licence_class=licence_class, reason=reason, licence=licence_id
            )
    return MappingProxyType(table)


def _entry(entry: object, index: int) -> tuple[LicenceClass, str, list[str]]:
    if not isinstance(entry, dict) or set(entry) != {"class", "reason", "ids"}:
        raise ScannerError(f"licences.yaml: entry {index} needs exactly class, reason and ids")
    ids, reason = entry["ids"], entry["reason"]
    if not isinstance(ids, list) or not all(isinstance(item, str) for item in ids):
        raise ScannerError(f"licences.yaml: entry {index}: ids must be strings")
    if not isinstance(reason, str) or not reason:
        raise ScannerError(f"licences.yaml: entry {index}: reason must be a non-empty string")
    try:
        licence_class = LicenceClass(entry["class"])
    except ValueError:
        raise ScannerError(f"licences.yaml: entry {index}: unknown class") from None
    return licence_class, reason, ids


# --- classification ----------------------------------------------------------------------------


def _normalise(value: str) -> str:
    text = " ".join(value.split()).lower().strip("\"'")
    text = text.removeprefix("licenseref-")
    for suffix in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text.removesuffix(suffix)
    return text


def _classify(text: str) -> LicenceClassification:
    known = _table().get(text)
    if known is not None:
        return known
    if text.startswith("license ::"):
        return _classifier(text)
    tokens = _TOKEN.findall(text)
    if "(" in tokens or any(token in _OPERATORS for token in tokens):
        return _expression(tokens)
    return LicenceClassification(
        licence_class=LicenceClass.UNKNOWN, reason="not a licence sovscan recognises"
    )


def _classifier(text: str) -> LicenceClassification:
    """A Trove classifier such as ``License :: OSI Approved :: MIT License``."""
    parts = [part.strip() for part in text.split("::")[1:]]
    known = _table().get(_normalise(parts[-1])) if parts else None
    if known is not None:
        return known
    if "osi approved" in parts:
        return LicenceClassification(
            licence_class=LicenceClass.OPEN, reason="OSI-approved (Trove classifier)"
        )
    return LicenceClassification(
        licence_class=LicenceClass.UNKNOWN, reason="a Trove classifier naming no known licence"
    )


class _BadExpression(Exception):
    """The expression cannot be parsed within the caps."""


def _expression(tokens: list[str]) -> LicenceClassification:
    if len(tokens) > MAX_EXPRESSION_TOKENS:
        return LicenceClassification(
            licence_class=LicenceClass.UNKNOWN,
            reason=f"licence expression longer than {MAX_EXPRESSION_TOKENS} tokens",
        )
    try:
        found = _Parser(tokens).parse()
    except _BadExpression:
        return LicenceClassification(
            licence_class=LicenceClass.UNKNOWN, reason="unparseable licence expression"
        )
    return found


@dataclass(slots=True)
class _Parser:
    """Recursive descent over ``or`` (loosest), ``and``, ``with`` and parentheses."""

    tokens: list[str]
    position: int = 0

    def parse(self) -> LicenceClassification:
        found = self.expression(depth=0)
        if self.position != len(self.tokens):
            raise _BadExpression
        return found

    def expression(self, *, depth: int) -> LicenceClassification:
        options = [self.term(depth=depth)]
        while self._take("or"):
            options.append(self.term(depth=depth))
        return max(options, key=lambda item: _SEVERITY[item.licence_class])

    def term(self, *, depth: int) -> LicenceClassification:
        parts = [self.factor(depth=depth)]
        while self._take("and"):
            parts.append(self.factor(depth=depth))
        return min(parts, key=lambda item: _SEVERITY[item.licence_class])

    def factor(self, *, depth: int) -> LicenceClassification:
        if depth >= MAX_EXPRESSION_DEPTH:
            raise _BadExpression
        if self._take("("):
            inner = self.expression(depth=depth + 1)
            if not self._take(")"):
                raise _BadExpression
            return inner
        licence = self._leaf()
        if self._take("with"):
            self._leaf()  # an exception only adds permissions
        known = _table().get(_normalise(licence))
        if known is None:
            return LicenceClassification(
                licence_class=LicenceClass.UNKNOWN,
                reason=f"{licence!r} is not a licence sovscan recognises",
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
