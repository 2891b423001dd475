"""Attestations (``--attestation FILE``): facts no file shows, each with who attests it.

The file is YAML (or JSON with a ``.json`` suffix): a list of claims, or a mapping whose only
key is ``claims`` holding that list. Each claim is a mapping::

    - claim: developers_citizenship   # [a-z][a-z0-9_]*, each claim at most once
      value: RU                        # a string (quote it: YAML reads NO as a boolean)
      attested_by: "OOO Example, CTO" # required: who vouches for it
      date: 2026-05-01                 # optional, ISO 8601 date
      evidence: https://example.org/x  # optional, an http(s) URL

The built-in ``sovereign`` profile asks for ``developers_citizenship``, ``training_location`` and
``data_collected_in``; custom profiles may ask for any claim. The file is not signed in this
version: it records who vouches, it does not prove it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scanner.core.errors import UsageError
from scanner.policy.profile import read_entries

#: Caps on an attestation file.
MAX_ATTESTATION_BYTES = 1024 * 1024
MAX_CLAIMS = 1_000
MAX_VALUE_CHARS = 1_000
MAX_ATTESTER_CHARS = 500
MAX_URL_CHARS = 2_000

_CLAIM = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_URL = re.compile(r"^https?://[^\s]+$")
_KEYS = frozenset({"claim", "value", "attested_by", "date", "evidence"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Claim:
    """One attested fact."""

    claim: str
    value: str
    attested_by: str
    date: str | None = None
    """ISO 8601 date (``YYYY-MM-DD``)."""
    evidence: str | None = None
    """A URL to the supporting document."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attestation:
    """The claims of one attestation file."""

    source: str
    """The file's path, for evidence and messages."""
    claims: tuple[Claim, ...]

    def value(self, claim: str) -> Claim | None:
        """The claim named ``claim``, or None when the file does not make it."""
        return next((item for item in self.claims if item.claim == claim), None)


def load_attestation(path: Path) -> Attestation:
    """Read ``--attestation FILE``; ``UsageError`` naming the file and the claim when malformed."""
    data = read_entries(
        path,
        what="attestation",
        key="claims",
        noun="claims",
        max_bytes=MAX_ATTESTATION_BYTES,
        max_entries=MAX_CLAIMS,
    )
    claims: dict[str, Claim] = {}
    for index, item in enumerate(data):
        claim = _claim(item, f"{path}: claim {index + 1}")
        if claim.claim in claims:
            raise UsageError(f"{path}: claim {claim.claim!r} is made twice")
        claims[claim.claim] = claim
    return Attestation(source=str(path), claims=tuple(claims.values()))


def _claim(item: object, where: str) -> Claim:
    if not isinstance(item, Mapping):
        raise UsageError(f"{where}: must be a mapping with claim, value and attested_by")
    name = item.get("claim")
    if not isinstance(name, str) or not _CLAIM.match(name):
        raise UsageError(f"{where}: key 'claim': must match [a-z][a-z0-9_]* (64 characters)")
    where = f"{where} ({name})"
    unknown = sorted(_key(key) for key in item if key not in _KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]}")
    value = _string(item.get("value"), where, "value", MAX_VALUE_CHARS)
    attested_by = _string(item.get("attested_by"), where, "attested_by", MAX_ATTESTER_CHARS)
    return Claim(
        claim=name,
        value=value,
        attested_by=attested_by,
        date=_date(item.get("date"), where),
        evidence=_url(item.get("evidence"), where),
    )


def _string(value: object, where: str, key: str, limit: int) -> str:
    if value is None:
        raise UsageError(f"{where}: key {key!r}: required")
    if isinstance(value, bool):
        raise UsageError(f"{where}: key {key!r}: YAML read a boolean; quote the value")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{where}: key {key!r}: must be a non-empty string")
    if len(value) > limit:
        raise UsageError(f"{where}: key {key!r}: longer than {limit} characters")
    return value.strip()


def _date(value: object, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) <= 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise UsageError(f"{where}: key 'date': must be a date, YYYY-MM-DD")


def _url(value: object, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_URL_CHARS or not _URL.match(value):
        raise UsageError(f"{where}: key 'evidence': must be an http(s) URL")
    return value


def _key(key: object) -> str:
    return repr(key[:60]) if isinstance(key, str) else f"a {type(key).__name__}"
