"""The contract between the policy, the pipeline and every exporter.

An exporter is a function ``render(result, options) -> str`` (``Renderer``), registered in
``scanner.sbom.exporters``. ``RenderOptions`` carries what the run decided (CycloneDX version,
timestamp) and the policy's rule table, which exporters read through ``RuleDescription``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Protocol, TextIO

from scanner.core.errors import UsageError
from scanner.core.model import ScanResult, Severity


class RuleDescription(Protocol):
    """What the exporters need to know of a policy rule (``scanner.policy`` provides the table)."""

    @property
    def id(self) -> str:
        """Stable id, e.g. ``SOV001``."""

    @property
    def name(self) -> str:
        """Short kebab-case name, e.g. ``foreign-component``."""

    @property
    def description(self) -> str:
        """One or two sentences: what the rule checks."""

    @property
    def help(self) -> str:
        """What to do about a finding (Markdown allowed)."""

    @property
    def severity(self) -> Severity:
        """The default severity of its findings."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericRule:
    """A rule description made here: for issues, and for rule ids the table does not know."""

    id: str
    name: str
    description: str
    help: str
    severity: Severity


#: The empty rule table (the default of every renderer: findings then get generic rules).
NO_RULES: Mapping[str, RuleDescription] = MappingProxyType({})


def describe_rule(
    rules: Mapping[str, RuleDescription], rule_id: str, severity: Severity
) -> RuleDescription:
    """The table's description of ``rule_id``, else a generic one with ``severity``."""
    known = rules.get(rule_id)
    if known is not None:
        return known
    return GenericRule(
        id=rule_id,
        name=rule_id.lower(),
        description=f"Rule {rule_id}, which this version of sovscan does not describe.",
        help="Read the finding's message and evidence.",
        severity=severity,
    )


#: ``scheme:`` at the start of a target or location that is no local path (``hf:``, ``https:``,
#: ``hf-cache:``); two letters at least, so a Windows drive (``C:``) is not taken for one.
URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")

#: ``NAME`` or ``NAME <EMAIL>``: a name without angle brackets, then an optional address.
_CONTACT = re.compile(r"(?P<name>[^<>]+?)\s*(?:<(?P<email>[^<>@\s]+@[^<>@\s]+)>)?")
#: Longest name or address taken from the command line.
MAX_CONTACT_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Contact:
    """A person or team who authored the document."""

    name: str
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Authorship:
    """Who made the document, as the run was told (``--author``, ``--manufacturer``): never
    guessed, so without them the documents name only the tool."""

    authors: tuple[Contact, ...] = ()
    manufacturer: str | None = None

    @classmethod
    def parse(cls, authors: Iterable[str], manufacturer: str | None) -> Authorship:
        """``--author 'NAME <EMAIL>'`` values and ``--manufacturer NAME``; UsageError when one
        is empty, too long, holds a control character or is not of that form."""
        contacts = []
        for text in authors:
            found = _CONTACT.fullmatch(text.strip())
            if found is None or not _printable(text):
                raise UsageError(f"--author: give 'NAME' or 'NAME <EMAIL>', not {text!r}")
            contacts.append(Contact(found["name"], found["email"]))
        if manufacturer is not None and (not manufacturer.strip() or not _printable(manufacturer)):
            raise UsageError(f"--manufacturer: give an organisation's name, not {manufacturer!r}")
        made_by = manufacturer.strip() if manufacturer else None
        return cls(tuple(dict.fromkeys(contacts)), made_by)


def _printable(text: str) -> bool:
    return len(text) <= MAX_CONTACT_LENGTH and text.isprintable()


#: Nobody named: the documents name only the tool.
NOBODY = Authorship()


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """What every exporter may be told; each reads the fields that concern it."""

    spec_version: str = "1.6"
    """CycloneDX specification version."""
    timestamp: datetime | None = None
    """The BOM timestamp (``SOURCE_DATE_EPOCH``); None leaves it out (byte-stable output)."""
    rules: Mapping[str, RuleDescription] = field(default_factory=lambda: NO_RULES)
    """The policy's rule table (``scanner.policy.rules.RULES``)."""
    tier_rules: Mapping[str, Collection[str]] | None = None
    """The rules each tier applies, for the CycloneDX standards."""
    schema_cache: Path | None = None
    """Folder where compiled schema validators are kept between runs (the CLI: the cache
    folder's ``schemas``); None: the schema library's validator only (slower to start)."""
    authorship: Authorship = NOBODY
    """Who made the document (``--author``, ``--manufacturer``)."""


#: Options with nothing set: generic rule descriptions, no timestamp, CycloneDX 1.6.
PLAIN = RenderOptions()


class Renderer(Protocol):
    """An exporter: the document text for one ScanResult (validated where a schema exists)."""

    def __call__(self, result: ScanResult, options: RenderOptions, /) -> str:
        """The document's text."""


class Writer(Protocol):
    """An exporter that streams: the same text as its ``Renderer``, written to ``out``."""

    def __call__(self, result: ScanResult, options: RenderOptions, out: TextIO, /) -> None:
        """Write the document's text."""
